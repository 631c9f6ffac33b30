"""A generic BPMN runtime: ``definitions`` (read, check, deploy), ``runtime`` (the ``Engine`` and its commands),
``store`` (tables, state, projections, read models) and ``accounts``. It names none of afterflow's
processes and imports neither Flask, ``web`` nor ``processes`` (``tests/architecture`` holds it to that)."""
