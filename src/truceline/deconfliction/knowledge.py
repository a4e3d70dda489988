"""Proof of knowledge and answer deadlines.

As in strategic deconfliction of drone flights (ASTM F3548), a party may place or
change a volume that meets another party's active volumes only by citing the current
version of each; a submission that misses one, or cites an old version, is refused
with the list, so no party can later claim it did not know. A counterparty answers
(acknowledges or objects) within the agreement's deadline; an answer still missing
when it falls due escalates to the analysts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_ANSWER_HOURS", "Missed", "due_at", "missed_citations"]

#: hours a counterparty has to answer when the agreement sets no deadline
DEFAULT_ANSWER_HOURS = 72


@dataclass(frozen=True, slots=True)
class Missed:
    """A met volume the submission did not cite at its current version."""

    notification: int
    current_version: int
    cited_version: int | None

    def __str__(self) -> str:
        if self.cited_version is None:
            return f"notification {self.notification} (version {self.current_version}) not cited"
        return (
            f"notification {self.notification} cited at version {self.cited_version}, "
            f"current is {self.current_version}"
        )


def missed_citations(met: Iterable[tuple[int, int]], cited: Mapping[int, int]) -> list[Missed]:
    """The met ``(notification, current version)`` pairs not cited at that version."""
    return [Missed(n, v, cited.get(n)) for n, v in sorted(set(met)) if cited.get(n) != v]


def due_at(sent_at: int, hours: float) -> int:
    return sent_at + int(round(hours * 3600))
