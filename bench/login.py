"""Log-in answer times: unknown user vs wrong password vs right password, and what throttling costs.

Prints medians over interleaved rounds (so load on the machine hits every kind alike) and the
ratios that matter: an unknown user name should answer as slowly as a known one (ratio ≈ 1),
and counting a failure in the database should add little to the hash check.

    python -m bench.login [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from engine.calendar import CalendarConfig
from engine.db import make_engine
from engine.schema import upgrade
from engine.users import create_user
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from web.app import create_app
from web.settings import Settings

PASSWORD = "bench-login-2026-pass"


def main() -> None:
    """Measure and print the log-in answer times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    folder = Path(tempfile.mkdtemp(prefix="afterflow-bench-login-"))
    db = make_engine(f"sqlite:///{folder / 'bench.db'}")
    upgrade(db)
    engine = build_engine(db)
    with engine.writer.begin() as session:
        create_user(session, "bench1", PASSWORD, ("customer_service",), ROLE_KEYS)
    settings = Settings(
        database_url=str(db.url),
        secret_key="bench",
        instance_dir=folder,
        calendar=CalendarConfig(),
        embedded_runner=False,
        # High limits: the bench measures answers, not lock-outs.
        login_account_failures=10**6,
        login_address_failures=10**6,
    )
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "AFTERFLOW_ENGINE": engine}, settings)
    kinds = {
        "unknown user": ("nobody-here", "whatever-1"),
        "wrong password": ("bench1", "wrong-password"),
        "right password": ("bench1", PASSWORD),
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    client = app.test_client()
    client.post("/login", data={"username": "warm-up", "password": "x"})
    for _ in range(rounds):
        for kind, (username, password) in kinds.items():
            began = time.perf_counter()
            client.post("/login", data={"username": username, "password": password})
            times[kind].append(time.perf_counter() - began)
    medians = {kind: statistics.median(values) * 1000 for kind, values in times.items()}
    for kind, ms in medians.items():
        print(f"{kind:15} median {ms:7.1f} ms over {rounds} log-ins")
    print(f"unknown user / wrong password: {medians['unknown user'] / medians['wrong password']:.2f}")
    print(f"wrong password / right password: {medians['wrong password'] / medians['right password']:.2f}")


if __name__ == "__main__":
    main()
