"""health models."""
