"""The wheel is the product: built, installed into a fresh virtualenv outside the checkout, it runs.

One wheel is built from a clean copy of the sources (so nothing a former build left behind in
``build/`` slips in), installed with its dependencies by pip as the machine is set up (its index
and find-links), and then used from a folder that is not the checkout: ``setup-demo`` migrates
and deploys the diagrams the wheel carries, ``deploy --dry-run`` checks them again, and the app
serves a translated page and a front-end asset from the installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What the wheel is built from: the code, what `make setup` builds into web/, the shipped folders.
SOURCES = ("afterflow", "engine", "processes", "web", "diagrams", "migrations", "pyproject.toml", "setup.py")
#: Built by `make setup` (npm assets, the compiled catalogue): a wheel without them is broken.
BUILT_FILES = ("web/static/vendor/htmx.min.js", "web/translations/zh/LC_MESSAGES/messages.mo")

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Installed:
    """A wheel and the fresh virtualenv it is installed in."""

    wheel: Path
    venv: Path
    workdir: Path

    def bin(self, name: str) -> Path:
        """Return a console script or interpreter of the virtualenv."""
        return self.venv / "bin" / name

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run a command in the work folder (not the checkout) with a clean environment."""
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.workdir,
            env=_clean_environment(),
            capture_output=True,
            text=True,
            timeout=600,
        )

    def python(self, code: str) -> str:
        """Run Python code in the virtualenv and return what it printed."""
        result = self.run(self.bin("python"), "-c", code)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def _clean_environment() -> dict[str, str]:
    # Nothing may lead the installed package back to the checkout or to a test database.
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL", "AFTERFLOW_INSTANCE_DIR", "PYTHONSAFEPATH")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["AFTERFLOW_EMBEDDED_RUNNER"] = "0"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel from a clean copy of the sources and install it into a fresh virtualenv."""
    missing = [name for name in BUILT_FILES if not (ROOT / name).is_file()]
    assert not missing, f"run `make setup` first: {', '.join(missing)} not built"
    base = tmp_path_factory.mktemp("packaging")
    source, dist, workdir = base / "source", base / "dist", base / "work"
    workdir.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("afterflow-*.whl")
    environment = base / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    install = subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        cwd=workdir,
        env=_clean_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return Installed(wheel, environment, workdir)


def test_the_wheel_carries_diagrams_migrations_templates_assets_and_translations(
    installed: Installed,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())

    for folder in ("diagrams", "migrations"):
        shipped = {
            f"afterflow/{path.relative_to(ROOT).as_posix()}"
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        assert shipped, folder
        assert shipped <= names, f"left out of the wheel: {sorted(shipped - names)}"
    # Every module and data file of the packages: templates, assets, catalogues, word lists, …
    package_files = {
        path.relative_to(ROOT).as_posix()
        for package in ("afterflow", "engine", "processes", "web")
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".")
    }
    assert package_files <= names, f"left out of the wheel: {sorted(package_files - names)}"
    assert set(BUILT_FILES) <= names
    assert not any("__pycache__" in name for name in names)


def test_the_installed_package_finds_its_files_in_the_virtualenv_not_in_the_checkout(
    installed: Installed,
) -> None:
    found = json.loads(
        installed.python(
            "import json, afterflow, engine, web.app\n"
            "print(json.dumps({'installed': afterflow.installed(), 'diagrams': str(afterflow.DIAGRAMS),"
            " 'migrations': str(afterflow.MIGRATIONS), 'engine': engine.__file__,"
            " 'web': web.app.__file__, 'instance': str(afterflow.default_instance_dir())}))"
        )
    )

    assert found["installed"] is True
    for key in ("diagrams", "migrations", "engine", "web", "instance"):
        assert Path(found[key]).is_relative_to(installed.venv), (key, found[key])
        assert not Path(found[key]).is_relative_to(ROOT), (key, found[key])
    assert Path(found["diagrams"], "repair_service.bpmn").is_file()


def test_setup_demo_then_a_dry_run_deploy_of_the_packaged_diagrams(installed: Installed) -> None:
    setup = installed.run(installed.bin("afterflow"), "setup-demo")
    assert setup.returncode == 0, setup.stderr
    assert "deployed repair_service version 1" in setup.stdout
    assert "deployed complaint version 1" in setup.stdout
    assert (installed.venv / "var" / "afterflow-instance" / "afterflow.db").is_file()

    diagrams = installed.python("import afterflow; print(afterflow.DIAGRAMS)")
    dry_run = installed.run(installed.bin("afterflow"), "deploy", "--dry-run", diagrams)

    assert dry_run.returncode == 0, dry_run.stderr
    assert "repair_service: unchanged (version 1)" in dry_run.stdout
    assert dry_run.stdout.strip().endswith("no problem found")


def test_the_installed_app_serves_translated_pages_and_front_end_assets(installed: Installed) -> None:
    served = json.loads(
        installed.python(
            "import json\n"
            "from web.app import create_app\n"
            "client = create_app({'TESTING': True}).test_client()\n"
            "page = client.get('/login')\n"
            "asset = client.get('/static/vendor/htmx.min.js')\n"
            "print(json.dumps({'page': page.status_code, 'html': page.get_data(as_text=True),"
            " 'asset': asset.status_code, 'size': len(asset.data)}))"
        )
    )

    assert served["page"] == 200
    assert "<h1>登录</h1>" in served["html"]  # the compiled zh catalogue, found in the package
    assert served["asset"] == 200
    assert served["size"] == (ROOT / "web/static/vendor/htmx.min.js").stat().st_size
