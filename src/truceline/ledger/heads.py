"""The signer's guard: a new tree head only if the log extends the last signed one.

Before the mission signs size ``n``, the last head it published (size ``o``, root
``r``, as its signed text says, not as the stored tiles give it) must be a prefix
of the log: the stored frontier nodes of the first ``o`` leaves fold to ``r``; the
entries since ``o`` hash to their stored leaf hashes; the new root is computed
from that frontier and those recomputed leaves; and the RFC 9162 consistency
proof the store gives from ``o`` to ``n`` verifies against ``r`` and that new
root. Otherwise the signer would equivocate (two roots for one history), so it
refuses with an :class:`IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from truceline.ledger.merkle import (
    HASH_SIZE,
    Node,
    hash_leaf,
    new_nodes,
    perfect_parts,
    range_hash,
    verify_consistency,
)

__all__ = ["Candidate", "check_proof", "extended_root", "node_problem"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the signer would sign, and why it may not."""

    size: int
    root: bytes
    problem: str = ""
    nodes: tuple[tuple[int, int, bytes], ...] = ()  # the nodes the new entries complete


def _fold(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    return range_hash([nodes[p] for p in perfect_parts(0, size)])


def extended_root(
    old_size: int,
    old_root: bytes,
    front: Mapping[Node, bytes],
    new: Sequence[tuple[int, bytes, bytes]],
) -> Candidate:
    """The root of the log extended by ``new`` entries ``(idx, data, stored leaf hash)``
    after the published head ``(old_size, old_root)`` whose frontier the store holds as
    ``front``; ``problem`` says why the log does not extend that head."""
    if old_size and _fold(old_size, front) != old_root:
        return Candidate(
            old_size,
            _fold(old_size, front),
            f"the stored tree over entries 0..{old_size - 1} no longer gives the signed root",
        )
    leaves = bytearray()
    for pos, (idx, data, stored) in enumerate(new):
        if idx != old_size + pos:
            return Candidate(old_size + pos, b"", f"entry {old_size + pos} is missing")
        h = hash_leaf(data)
        if h != stored:
            return Candidate(idx, b"", f"entry {idx}'s data does not match its leaf hash")
        leaves += h
    n = old_size + len(leaves) // HASH_SIZE
    known = dict(front)
    known.update(
        {(0, old_size + i): bytes(leaves[i * 32 : (i + 1) * 32]) for i in range(n - old_size)}
    )
    nodes = tuple(new_nodes(old_size, bytes(leaves), front))
    known.update({(lv, i): h for lv, i, h in nodes})
    return Candidate(n, _fold(n, known) if n else range_hash([]), nodes=nodes)


def check_proof(
    old_size: int, old_root: bytes, cand: Candidate, proof: Sequence[bytes], cached_root: bytes
) -> Candidate:
    """``cand`` with a problem if the store's consistency proof or cached root disagree."""
    if cand.problem:
        return cand
    if not verify_consistency(old_size, cand.size, old_root, cand.root, proof):
        why = f"the stored tree's consistency proof from {old_size} to {cand.size} fails"
        return Candidate(cand.size, cand.root, why)
    if cached_root != cand.root:
        why = (
            f"the stored tree nodes give another root for size {cand.size}: ledger_tiles was edited"
        )
        return Candidate(cand.size, cand.root, why)
    return cand


def node_problem(computed: Sequence[tuple[int, int, bytes]], stored: Mapping[Node, bytes]) -> str:
    """The first stored node the recomputed ones disagree with ('' when none)."""
    for lv, i, h in computed:
        have = stored.get((lv, i))
        if have != h:
            what = "missing" if have is None else "not the hash of the entries below it"
            return (
                f"tree node (level {lv}, index {i}) over entries {i << lv}..{((i + 1) << lv) - 1} "
                f"is {what}: ledger_tiles was edited"
            )
    return ""
