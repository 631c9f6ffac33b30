"""Shared fixtures: a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import MetaData, create_engine, make_url, text

from engine import clock
from engine.accounts.users import Actor
from engine.definitions import collect_files
from engine.runtime import Engine
from engine.store.database import Base, make_engine
from engine.store.schema import upgrade
from processes.roles import ROLE_KEYS
from processes.wiring import build_engine

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "diagrams"
#: A complaint as sales receives it by phone (the complaint process's message-less start form).
COMPLAINT_RECEIVED: dict[str, str] = {
    "receive_channel": "phone",
    "customer_name": "协和医院",
    "customer_phone": "010-69156114",
    "product_name": "多参数监护仪",
    "product_model": "PM-9000",
    "serial_number": "SN-2026-0815",
    "order_number": "SO-2026-0312",
    "quantity": "20",
    "delivery_date": "2025-12-08",  # before every frozen "now" of the tests
    "defect_quantity": "1",
    "complaint_category": "repair_quality",
    "complaint_text": "返修后的监护仪仍间歇性黑屏",
    "customer_request": "更换整机",
    "market": "domestic",
}


def pytest_configure(config: pytest.Config) -> None:
    """Give each pytest-xdist worker its own PostgreSQL database: the fixtures drop every table."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = os.environ.get("TEST_DATABASE_URL")
    if not worker or not shared:
        return
    url = make_url(shared)
    own = url.set(database=f"{url.database}_{worker}")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            known = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own.database})
            if known.first() is None:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        admin.dispose()
    os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadfile``, hand out the test files longest first (see ``tests.longest_first``)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.longest_first import LongestFirst

    return LongestFirst(config, log)


def database_urls(tmp_dir: Path) -> dict[str, str]:
    urls = {"sqlite": f"sqlite:///{tmp_dir / 'afterflow-test.db'}"}
    if os.environ.get("TEST_DATABASE_URL"):
        urls["postgresql"] = os.environ["TEST_DATABASE_URL"]
    return urls


# Whole-process scenarios prove the diagrams, not the database: they run on SQLite only, which
# keeps the suite short. Engine, runtime and web tests run once per configured database.
SQLITE_ONLY = ("scenarios",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test on each configured database, or only on those its ``databases`` mark names."""
    if "db_name" in metafunc.fixturenames:
        names: list[Any] = ["sqlite"]
        tier = Path(str(metafunc.definition.fspath)).parent.name
        if os.environ.get("TEST_DATABASE_URL") and tier not in SQLITE_ONLY:
            names.append("postgresql")
        mark = metafunc.definition.get_closest_marker("databases")
        if mark is not None:
            names = [name for name in names if name in mark.args] or [
                pytest.param(name, marks=pytest.mark.skip(reason=f"needs {name}: set TEST_DATABASE_URL"))
                for name in mark.args
            ]
        metafunc.parametrize("db_name", names, scope="session")


@pytest.fixture(scope="session")
def database(db_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlEngine]:
    url = database_urls(tmp_path_factory.mktemp("db"))[db_name]
    db = make_engine(url)
    if db.dialect.name == "postgresql":
        with db.begin() as conn:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def db(database: SqlEngine) -> Iterator[SqlEngine]:
    yield database
    with database.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    yield
    clock.unfreeze()


@pytest.fixture
def engine(db: SqlEngine) -> Engine:
    return build_engine(db)


def diagram_files() -> dict[str, str]:
    files, problems = collect_files([DIAGRAMS])
    assert not problems, problems
    return files


@pytest.fixture
def deployed(engine: Engine) -> Engine:
    engine.deploy(diagram_files(), deployed_by="owner1")
    return engine


def actor(username: str, *roles: str) -> Actor:
    assert set(roles) <= ROLE_KEYS
    return Actor(username, frozenset(roles))
