"""Bench processes of their own, started together: each prepares, says ``ready``, works for the
same seconds after one ``go SECONDS`` line on its stdin, and answers with one line.

Processes, not threads, so what is measured is not held back by the GIL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_together(module: str, args: Sequence[str], processes: int, seconds: float) -> list[str]:
    """Run ``processes`` copies of ``python -m module *args`` for ``seconds``; return their answers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AFTERFLOW_SCRIPT_PROCESSES": "0"}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a {module} process did not get ready")
        for child in children:
            assert child.stdin is not None
            child.stdin.write(f"go {seconds}\n")
            child.stdin.flush()
        answers = []
        for child in children:
            assert child.stdout is not None
            answers.append(child.stdout.readline())
        return answers
    finally:
        for child in children:
            child.kill()
            child.wait()
