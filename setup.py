"""What pyproject.toml cannot say: the wheel carries diagrams/ and migrations/ inside ``afterflow``.

Everything else about the build is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("diagrams", "migrations")


class BuildWithShippedFolders(build_py):
    """Copy diagrams/ and migrations/ into the built ``afterflow`` package."""

    def run(self) -> None:
        editable = getattr(self, "editable_mode", False)
        if not editable:
            # build/lib outlives a build: start empty, so a module or diagram deleted from the
            # checkout is not carried on in the next wheel.
            shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()
        if editable:
            return  # an editable install reads them from the checkout
        for folder in SHIPPED:
            for source in sorted(Path(folder).rglob("*")):
                if source.is_file() and "__pycache__" not in source.parts and source.suffix != ".pyc":
                    target = Path(self.build_lib, "afterflow", source)
                    self.mkpath(str(target.parent))
                    self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithShippedFolders})
