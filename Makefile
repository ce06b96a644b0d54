.PHONY: setup run test lint bench bench-inbox bench-stripe docker-config

setup:
	scripts/bootstrap

run:
	scripts/run

test:
	scripts/test

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Both benchmarks run even when the first misses a target; make fails if either did.
bench: setup
	status=0; \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cs_platform_bench} .venv/bin/python bench/bench_lists.py || status=1; \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cs_platform_bench} .venv/bin/python bench/bench_inbox.py || status=1; \
	exit $$status

bench-inbox: setup
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cs_platform_bench} .venv/bin/python bench/bench_inbox.py

bench-stripe: setup
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cs_platform_bench} .venv/bin/python bench/bench_stripe.py

docker-config:
	docker compose config --quiet
