"""Running ``truceline`` as a user does: a new process, its output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    args: list[str], cwd: Path, columns: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``truceline ARGS`` in ``cwd`` (a database named by the environment is not used;
    ``columns``, when given, is the terminal width the process is told)."""
    env = {k: v for k, v in os.environ.items() if k != "TRUCELINE_DATABASE_URL"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "truceline", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
