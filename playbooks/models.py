"""playbooks models."""
