"""The after-sales domain a diagram cannot hold: roles, service handlers, records, KPIs, case lists, demo data.

``wiring.py`` plugs it into the generic engine.
"""
