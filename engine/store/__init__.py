"""Persistence: the database, the tables, serialized workflow state, projections and read models."""
