#!/usr/bin/env python3
"""Start-up time of the ``truceline`` command: what a user waits for before any work.

    python benchmarks/startup.py [--runs 9] [--top 12] [--only "incidents list"]

Creates an empty workspace in a temporary folder, then runs ``truceline --help``,
``truceline --version`` and every list command there (each as a new process,
``--runs`` times) and prints the median and fastest wall time and the median CPU
time (user + system) of each, against the targets of issue 8 (0.3 s for
``--help``/``--version``, 0.6 s for a list command on an empty workspace). On a
loaded machine the CPU time is the figure to read: the wall time then mostly
measures the others' load. Then, for each command, the top offenders of
``python -X importtime``: the packages imported directly by the run, by their
cumulative import time. The figures depend on the machine's load: read the load
average printed with them.

The runs use compiled bytecode, as an installed package does: where the
environment says ``PYTHONDONTWRITEBYTECODE`` (an editable checkout then compiles
every module of its own on every start), the benchmark lets the warm-up run write
the bytecode into a cache in its temporary folder (``PYTHONPYCACHEPREFIX``).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: every list command (tests/test_cli_startup.py checks what the same ones import)
LISTS = ["incidents list", "findings list", "notify list", "sources list", "users list",
         "alerts list", "alerts subscriptions", "alerts dead"]  # fmt: skip
COMMANDS: list[tuple[str, list[str], float]] = [
    ("--help", ["--help"], 0.3),
    ("--version", ["--version"], 0.3),
    *((c, c.split(), 0.6) for c in LISTS),
]


_SKIPPED_ENV = ("TRUCELINE_DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
_pycache: Path | None = None  # set by main(): where the runs keep their bytecode


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SKIPPED_ENV}
    env["COLUMNS"] = "100"
    if _pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(_pycache)
    return env


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list[str], cwd: Path, extra: list[str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (less sensitive to a loaded machine) and stderr."""
    cmd = [sys.executable, *(extra or []), "-m", "truceline", *args]
    c0, t0 = _cpu(), time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    took, cpu = time.perf_counter() - t0, _cpu() - c0
    if r.returncode != 0:
        raise SystemExit(f"truceline {' '.join(args)} failed:\n{r.stderr}")
    return took, cpu, r.stderr


def _offenders(importtime: str, top: int) -> list[tuple[str, float]]:
    """Seconds of import per package: a package's outermost imports (cumulative), and
    for truceline itself only its own modules' time (its imports of others are
    counted under those others)."""
    rows: list[tuple[int, str, int, int]] = []  # depth, module, self us, cumulative us
    for line in importtime.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = len(name) - len(name.lstrip())
        rows.append((depth, name.strip(), int(parts[0]), int(parts[1])))
    by_package: dict[str, float] = {}
    stack: list[tuple[int, str]] = []
    for depth, module, self_us, cum_us in reversed(rows):  # parents come after children
        while stack and stack[-1][0] >= depth:
            stack.pop()
        package = module.split(".")[0]
        parent = stack[-1][1].split(".")[0] if stack else ""
        if package == "truceline":
            by_package[package] = by_package.get(package, 0.0) + self_us / 1e6
        elif package != parent:
            by_package[package] = by_package.get(package, 0.0) + cum_us / 1e6
        stack.append((depth, module))
    return sorted(by_package.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=9, help="runs of each command")
    ap.add_argument("--top", type=int, default=12, help="import offenders listed per command")
    ap.add_argument("--only", action="append", help="time only this command (repeatable)")
    a = ap.parse_args()
    commands = [c for c in COMMANDS if not a.only or c[0] in a.only]
    global _pycache
    with tempfile.TemporaryDirectory(prefix="tl-startup-") as tmp:
        _pycache = Path(tmp) / "pycache"
        ws = Path(tmp) / "ws"
        _run(["init", str(ws)], Path(tmp))
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {a.runs} runs each")
        head = f"{'command':<22}{'median s':>10}{'fastest s':>11}{'median CPU s':>14}"
        print(f"{head}{'target s':>10}  median (wall, CPU) under target")
        for label, args, target in commands:
            _run(args, ws)  # warm the file cache and write the bytecode
            runs = [_run(args, ws) for _ in range(a.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            fastest = min(r[0] for r in runs)
            ok = ", ".join("yes" if x < target else "no" for x in (wall, cpu))
            print(f"{label:<22}{wall:>10.3f}{fastest:>11.3f}{cpu:>14.3f}{target:>10.1f}  {ok}")
        for label, args, _ in commands:
            stderr = _run(args, ws, ["-X", "importtime"])[2]
            print(f"\npython -X importtime -m truceline {label}: top offenders (cumulative s)")
            for name, secs in _offenders(stderr, a.top):
                print(f"  {name:<24}{secs:>8.3f}")


if __name__ == "__main__":
    main()
