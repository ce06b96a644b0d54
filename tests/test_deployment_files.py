"""What can be checked of the deployment files without a Docker engine: structure and configuration."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_every_part_against_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["build"] == "."
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "gunicorn cs_platform.wsgi" in services["web"]["command"]
    assert "celery -A cs_platform worker" in services["worker"]["command"]
    assert "celery -A cs_platform beat" in services["beat"]["command"]
    assert "healthcheck" in services["postgres"]


def test_env_example_documents_every_variable_the_settings_read():
    settings_source = (ROOT / "cs_platform" / "settings" / "base.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z_]+)"', settings_source))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "no settings found: the pattern above needs updating"
    assert read <= documented, f"undocumented in .env.example: {sorted(read - documented)}"


def test_dockerfile_installs_pinned_packages_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile
    assert "npm ci" in dockerfile
    assert re.search(r"^USER \w+", dockerfile, re.MULTILINE)
