"""The files afterflow ships beside its code, found in a checkout or in an installed wheel.

A checkout keeps ``diagrams/`` and ``migrations/`` at its top, beside ``engine/``; the wheel
carries them inside this package (``setup.py`` copies them in at build time), because a
top-level ``migrations`` folder in site-packages would be anybody's.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def installed() -> bool:
    """Tell whether this is an installed wheel (its files inside the package) rather than a checkout."""
    return (PACKAGE / "migrations").is_dir()


def shipped_folder(name: str) -> Path:
    """Return a shipped folder (``diagrams``, ``migrations``) of the wheel or of the checkout."""
    return PACKAGE / name if installed() else CHECKOUT / name


def default_instance_dir() -> Path:
    """Return where the database and the secret key go unless configured.

    A checkout keeps them in its ``instance/`` folder; an installed package in
    ``<prefix>/var/afterflow-instance``, as Flask places an installed app's instance folder,
    never inside site-packages.
    """
    if installed():
        return Path(sys.prefix) / "var" / "afterflow-instance"
    return CHECKOUT / "instance"


DIAGRAMS = shipped_folder("diagrams")
MIGRATIONS = shipped_folder("migrations")
