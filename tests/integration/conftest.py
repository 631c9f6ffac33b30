"""Integration tests may drive whole cases with the scenarios' fixtures (on both databases)."""

from tests.scenarios.conftest import demo_password_hash, scenario_engine, scenario_time  # noqa: F401
