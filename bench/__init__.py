"""Reproducible benchmarks of the afterflow engine; each prints its figures (see docs/benchmarks.md)."""
