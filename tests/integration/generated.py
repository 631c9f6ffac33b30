"""A database of generated cases, made once per test module (loading real cases takes seconds)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from engine import clock
from engine.accounts import users
from engine.accounts.users import create_user
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.schema import upgrade
from processes.demo.load import load_cases
from processes.demo.records import load_demo_records
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine
from tests.conftest import diagram_files

#: When the generated months end: Monday 2026-11-23 09:00 in Shanghai.
END = datetime.fromisoformat("2026-11-23T09:00:00+08:00")


def fresh_engine(folder: Path, name: str = "generated.db") -> Engine:
    """An engine over a new SQLite file with the diagrams deployed, the demo users and records."""
    db = make_engine(f"sqlite:///{folder / name}")
    upgrade(db)
    return prepare(build_engine(db))


def prepare(engine: Engine) -> Engine:
    """Deploy the diagrams and create the demo users and records in an empty database."""
    clock.freeze(END)
    try:
        engine.deploy(diagram_files(), deployed_by="owner1")
        one_hash = users.hash_password(DEMO_PASSWORD)
        real, users.hash_password = users.hash_password, lambda _p: one_hash
        try:
            with engine.writer.begin() as session:
                for username, display_name, roles in DEMO_USERS:
                    create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
                load_demo_records(session)
        finally:
            users.hash_password = real
    finally:
        clock.unfreeze()
    return engine


def generated_engine(folder: Path, cases: int, seed: int, name: str = "generated.db") -> Engine:
    """A fresh engine with ``cases`` generated cases over the 90 days before ``END``."""
    engine = fresh_engine(folder, name)
    load_cases(engine, cases, seed=seed, end=END, days=90)
    return engine
