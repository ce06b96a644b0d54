.PHONY: setup run test lint bench bench-inbox bench-stripe bench-hubspot bench-health docker-config

setup:
	scripts/bootstrap

run:
	scripts/run

test:
	scripts/test

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

BENCH_DATABASE_URL = $${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cs_platform_bench}

# Every benchmark runs even when an earlier one misses its target; make fails if any did.
bench: setup
	status=0; \
	for script in bench_lists bench_inbox bench_hubspot bench_stripe bench_health; do \
	  DATABASE_URL=$(BENCH_DATABASE_URL) .venv/bin/python bench/$$script.py || status=1; \
	done; \
	exit $$status

bench-inbox: setup
	DATABASE_URL=$(BENCH_DATABASE_URL) .venv/bin/python bench/bench_inbox.py

bench-stripe: setup
	DATABASE_URL=$(BENCH_DATABASE_URL) .venv/bin/python bench/bench_stripe.py

bench-hubspot: setup
	DATABASE_URL=$(BENCH_DATABASE_URL) .venv/bin/python bench/bench_hubspot.py

bench-health: setup
	DATABASE_URL=$(BENCH_DATABASE_URL) .venv/bin/python bench/bench_health.py

docker-config:
	docker compose config --quiet
