"""Per-process Python a diagram cannot hold: roles, business numbers, service handlers, demo data."""
