"""The garbage collector while the ``truceline`` command starts.

Importing the libraries, building the command line and opening the store make
some 80,000 objects that live as long as the process; with Python's default
thresholds the collector scans them over a hundred times on the way (about a
sixth of the CPU a list command needs). :func:`begin` makes collections rare
until :func:`started`, which moves what start-up made out of the collector's
sight (``gc.freeze``) and restores the thresholds. A command that never calls
:func:`started` keeps collecting, only less often.

Imports nothing but :mod:`gc`, so it can run before anything else is imported.
"""

from __future__ import annotations

import gc

__all__ = ["STARTUP_THRESHOLD", "begin", "started"]

#: a collection of the youngest generation per this many new objects (default 700)
STARTUP_THRESHOLD = 200_000
_default: tuple[int, ...] | None = None  # the thresholds to restore, while starting up


def begin() -> None:
    """Collect rarely from now until :func:`started` (idempotent)."""
    global _default
    if _default is None:
        _default = gc.get_threshold()
        gc.set_threshold(STARTUP_THRESHOLD, *_default[1:])


def started() -> None:
    """The command's own work begins: freeze what start-up made, restore the
    thresholds. Does nothing unless :func:`begin` was called."""
    global _default
    if _default is not None:
        gc.freeze()
        gc.set_threshold(*_default)
        _default = None
