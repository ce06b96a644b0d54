.PHONY: setup run test lint bench docker-config

setup:
	scripts/bootstrap

run:
	scripts/run

test:
	scripts/test

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: setup
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cs_platform_bench} .venv/bin/python bench/bench_lists.py

docker-config:
	docker compose config --quiet
