"""The OpenAPI description stays valid and warning-free, so what /api/v1/schema/ says is what the API does."""

import pytest
import yaml
from django.core.management import call_command


def test_the_schema_validates_without_warnings(tmp_path):
    path = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    for route in ("/api/v1/playbooks/", "/api/v1/playbooks/schema/", "/api/v1/health-scores/", "/api/v1/usage/"):
        assert route in schema["paths"], route


pytestmark = pytest.mark.django_db
