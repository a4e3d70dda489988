"""Offline audit of an exported ledger bundle against a published, signed tree head.

No database: the bundle (JSON lines: a header with the mission's signed head,
then one line per entry ``{idx, kind, ref, data, leaf_hash}``), the head the
auditor kept, and the mission's public key.

What can be named from what:

* from the bundle alone: an entry whose data no longer matches its stated leaf
  hash, whose envelope disagrees with its kind/ref, which is not canonical, and
  gaps, repeats or disorder in the ``idx`` labels (naive tampering);
* from a published head alone: whether the first ``size`` entries are exactly
  the ones signed (the root), but not *which* entry changed: a root is one hash;
* from a previous bundle the auditor kept (``previous``): each modified,
  deleted, inserted or reordered entry, by index and kind, by comparing leaf
  hashes position by position.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any

from truceline.domain.errors import InputError
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.merkle import HASH_SIZE, Node, StreamTree, hash_leaf
from truceline.ledger.note import Checkpoint, Verifier, parse_checkpoint, parse_note
from truceline.ledger.rotation import ROTATION, key_chain, verify_head

_MAX_NAMED = 1000

__all__ = [
    "AuditReport",
    "Bundle",
    "Issue",
    "audit_bundle",
    "audit_files",
    "compare_with",
    "diff_entries",
    "read_bundle",
    "read_head_text",
]


@dataclass(slots=True)
class Bundle:
    """A bundle read in one streamed pass, holding only what was asked of it: its header,
    its size, the roots of the prefix sizes asked for (and of its own head's size), the
    perfect nodes asked for, the problems entries and labels show on their own
    (``issues``) and the ``key_rotation`` records. Neither the data nor the leaf hashes
    are kept, so memory does not grow with the entries."""

    header: dict[str, Any]
    size: int = 0
    roots: dict[int, bytes] = field(default_factory=dict)
    nodes: dict[Node, bytes] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    rotations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass(slots=True)
class _Tail:
    """The leaf hashes and kinds of a bundle's entries from position ``start`` on."""

    start: int
    leaves: bytearray = field(default_factory=bytearray)
    kinds: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.kinds)

    def leaf(self, i: int) -> bytes:
        return bytes(self.leaves[i * HASH_SIZE : (i + 1) * HASH_SIZE])


@dataclass(frozen=True, slots=True)
class Issue:
    problem: str  # modified | deleted | inserted | reordered | relabelled | root | split_view ...
    index: int | None
    kind: str | None
    detail: str

    def __str__(self) -> str:
        where = "" if self.index is None else f"entry {self.index}"
        if self.kind:
            where += f" ({self.kind})"
        return (
            f"{self.problem}: {where}: {self.detail}" if where else f"{self.problem}: {self.detail}"
        )


@dataclass(slots=True)
class AuditReport:
    head_size: int
    head_root: str
    bundle_entries: int
    computed_root: str
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def _entries(path: Path) -> Iterator[tuple[int, int, str, str, str, dict[str, Any]]]:
    """``(line, idx, kind, ref, data, line's JSON)`` of each entry line, streamed."""
    with path.open(encoding="utf-8") as f:
        f.readline()
        for n, line in enumerate(f, start=2):
            try:
                d = json.loads(line)
                yield n, int(d["idx"]), str(d["kind"]), str(d["ref"]), str(d["data"]), d
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InputError(f"{path}, line {n}: not a ledger entry: {exc}") from exc


def _header(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        header = json.loads(f.readline())
    if not isinstance(header, dict) or "checkpoint" not in header:
        raise InputError(f"{path}: line 1 is not a bundle header (no checkpoint)")
    return header


def read_bundle(path: Path, sizes: Iterable[int] = (), nodes: Iterable[Node] = ()) -> Bundle:
    """Read a bundle file in one streamed pass (see :class:`Bundle`): the roots of
    ``sizes`` and of its own head's size, and the perfect ``nodes``, are computed on the
    way; a malformed line is an InputError naming the line."""
    try:
        header = _header(path)
        own = [_claimed_size(str(header["checkpoint"]))]
        bundle = Bundle(header)
        tree = StreamTree([*sizes, *(s for s in own if s is not None)], nodes)
        labels = _Labels()
        for _, idx, kind, ref, text, d in _entries(path):
            h = _check_entry(bundle, idx, kind, ref, text, d)
            labels.see(bundle.size, idx, kind)
            tree.add(h)
            bundle.size += 1
    except OSError as exc:
        raise InputError(f"cannot read bundle {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: header is not JSON: {exc}") from exc
    bundle.roots, bundle.nodes = tree.roots, tree.nodes
    bundle.issues.extend(labels.issues())
    return bundle


def _claimed_size(text: str) -> int | None:
    """The size a (not yet verified) checkpoint claims, or None if it is not one."""
    try:
        return parse_checkpoint(parse_note(text)[0]).size
    except (InputError, ValueError):
        return None


def _check_entry(b: Bundle, idx: int, kind: str, ref: str, text: str, d: dict[str, Any]) -> bytes:
    """The leaf hash recomputed from an entry's data; its own problems go to ``b``."""
    data = text.encode("utf-8")
    h = hash_leaf(data)
    if h != bytes.fromhex(d["leaf_hash"]):
        b.issues.append(Issue("modified", idx, kind, "data does not match its leaf hash"))
    try:
        env = json.loads(data)
        if canonical_bytes(env) != data:
            b.issues.append(Issue("modified", idx, kind, "data is not in canonical form"))
        if env.get("kind") != kind or env.get("ref") != ref:
            b.issues.append(Issue("relabelled", idx, kind, "kind/ref differ from the data"))
        if kind == ROTATION and isinstance(env.get("record"), dict):
            b.rotations.append((idx, env["record"]))
    except (ValueError, AttributeError, InputError):
        b.issues.append(Issue("modified", idx, kind, "data is not a JSON ledger envelope"))
    return h


class _Labels:
    """Gaps, repeats and disorder in the entries' ``idx`` labels, seen one at a time:
    nothing is kept while they run in sequence; after a jump, the labels skipped (as
    ranges) until they turn up late or are named missing at the end."""

    def __init__(self) -> None:
        self.top = -1
        self.skipped: list[list[int]] = []  # sorted, disjoint [lo, hi) not seen yet
        self.jumps: list[tuple[int, int, str, int, int]] = []  # pos, idx, kind, lo, hi
        self.late: list[int] = []
        self.out: list[Issue] = []

    def see(self, pos: int, i: int, kind: str) -> None:
        if i == self.top + 1:
            self.top = i
            return
        if i > self.top + 1:
            self.skipped.append([self.top + 1, i])
            self.jumps.append((pos, i, kind, self.top + 1, i))
            self.top = i
            return
        k = bisect_right([r[0] for r in self.skipped], i) - 1
        if k >= 0 and self.skipped[k][0] <= i < self.skipped[k][1]:
            lo, hi = self.skipped[k]
            self.skipped[k : k + 1] = [r for r in ([lo, i], [i + 1, hi]) if r[0] < r[1]]
            self.late.append(i)
            self.out.append(Issue("reordered", i, kind, f"found late, at position {pos}"))
        else:
            self.out.append(Issue("inserted", i, kind, f"a second entry {i} at position {pos}"))

    def issues(self) -> list[Issue]:
        out = list(self.out)
        for pos, i, kind, lo, hi in self.jumps:
            if any(lo <= j < hi for j in self.late):
                out.append(Issue("reordered", i, kind, f"found early, at position {pos}"))
        gone = (j for lo, hi in self.skipped for j in range(lo, hi))
        out.extend(
            Issue("deleted", j, None, "missing from the bundle") for j in islice(gone, _MAX_NAMED)
        )
        return out


def _lis_members(seq: Sequence[int]) -> set[int]:
    """Positions (in ``seq``) of one longest increasing subsequence."""
    tails: list[int] = []
    tail_pos: list[int] = []
    parent = [-1] * len(seq)
    for i, v in enumerate(seq):
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_pos.append(i)
        else:
            tails[k] = v
            tail_pos[k] = i
        parent[i] = tail_pos[k - 1] if k else -1
    out: set[int] = set()
    i = tail_pos[-1] if tail_pos else -1
    while i >= 0:
        out.add(i)
        i = parent[i]
    return out


def diff_entries(old: _Tail, new: _Tail) -> list[Issue]:
    """Name each entry of ``old`` (a trusted earlier bundle, from position ``start``)
    modified, deleted, moved or inserted in ``new`` (from the same position); entries
    appended after all of ``old`` are not issues."""
    at = old.start
    old_pos = {old.leaf(i): i for i in range(old.size)}
    new_pos = {new.leaf(j): j for j in range(new.size)}
    issues: list[Issue] = []
    modified: set[int] = set()
    for i in range(old.size):
        if old.leaf(i) in new_pos:
            continue
        if i < new.size and new.leaf(i) not in old_pos:
            modified.add(i)
            what = f"now {new.kinds[i]} with other data"
            issues.append(Issue("modified", at + i, old.kinds[i], what))
        else:
            issues.append(Issue("deleted", at + i, old.kinds[i], "no longer in the log"))
    matched = [(j, old_pos[new.leaf(j)]) for j in range(new.size) if new.leaf(j) in old_pos]
    last_old = max((j for j, _ in matched), default=-1)
    for j in range(new.size):
        if new.leaf(j) not in old_pos and j not in modified and j < last_old:
            issues.append(Issue("inserted", at + j, new.kinds[j], "not in the earlier bundle"))
    keep = _lis_members([i for _, i in matched])
    moved = {j for k, (j, _) in enumerate(matched) if k not in keep}
    moved |= {j for j, i in matched if i != j and i in moved}  # the other side of a swap
    for j, i in matched:
        if j in moved:
            issues.append(Issue("reordered", at + i, old.kinds[i], f"moved to position {at + j}"))
    return issues


def _leaves(path: Path) -> Iterator[tuple[bytes, str]]:
    """``(leaf hash recomputed, kind)`` of each entry of a bundle, streamed."""
    for _, _, kind, _, text, _ in _entries(path):
        yield hash_leaf(text.encode("utf-8")), kind


def _first_difference(old: Path, new: Path) -> int | None:
    """The first position where two bundles' entries differ (None: ``new`` extends
    ``old``), both streamed side by side."""
    for pos, (a, b) in enumerate(zip_longest(_leaves(old), _leaves(new))):
        if a is None:
            return None
        if b is None or a[0] != b[0]:
            return pos
    return None


def _tail(path: Path, start: int) -> _Tail:
    tail = _Tail(start)
    for h, kind in islice(_leaves(path), start, None):
        tail.leaves += h
        tail.kinds.append(sys.intern(kind))
    return tail


def compare_with(previous: Path, bundle: Path) -> list[Issue]:
    """Each entry of the kept bundle ``previous`` changed in ``bundle``: streamed side by
    side up to the first difference; only the entries from there on are held."""
    start = _first_difference(previous, bundle)
    if start is None:
        return []
    return diff_entries(_tail(previous, start), _tail(bundle, start))


def audit_bundle(
    bundle: Bundle,
    head_text: str,
    key: Verifier,
    previous: tuple[Path, Path] | None = None,
    earlier_heads: Sequence[str] = (),
) -> AuditReport:
    """Check ``bundle`` (read with the roots of the heads' sizes) against a published head
    signed by ``key`` (see the module doc); ``earlier_heads`` (smaller signed heads the
    auditor kept) narrow down a root mismatch; ``previous`` (the kept bundle's file, this
    bundle's file) names the entries changed."""
    chain = _chain(bundle, key)
    head = parse_checkpoint(verify_head(head_text, chain)[0])
    root = bundle.roots.get(head.size)
    if root is None and bundle.size >= head.size:
        raise InputError(f"the bundle was read without the root of size {head.size}")
    computed = root if root is not None else b""
    rep = AuditReport(head.size, head.root.hex(), bundle.size, computed.hex())
    rep.issues.extend(bundle.issues)
    rep.issues.extend(_own_head_issues(bundle, head, chain))
    if bundle.size < head.size:
        rep.issues.append(
            Issue(
                "truncated",
                bundle.size,
                None,
                f"bundle has {bundle.size} entries, the head signs {head.size}",
            )
        )
    if root != head.root:
        if previous is not None:
            rep.issues.extend(compare_with(*previous))
        if not any(i.index is not None for i in rep.issues):
            heads = [parse_checkpoint(verify_head(t, chain)[0]) for t in earlier_heads]
            good = _last_matching(bundle, [*heads, head])
            where = (
                f"a change among entries {good}..{head.size - 1}: the head of size {good} "
                f"still matches, the head of size {head.size} does not"
                if good
                else f"entries 0..{head.size - 1} do not hash to the signed root"
            )
            hint = "; pass --previous with a bundle kept earlier to name the entries"
            rep.issues.append(Issue("root", good or None, None, where + hint))
    return rep


def _last_matching(bundle: Bundle, heads: Sequence[Checkpoint]) -> int:
    """The largest size among ``heads`` whose root the bundle's entries still give."""
    good = 0
    for h in sorted(heads, key=lambda h: h.size):
        if bundle.roots.get(h.size) != h.root:
            break
        good = h.size
    return good


def _chain(bundle: Bundle, key: Verifier) -> list[tuple[int, Verifier]]:
    """The pinned ``key`` and the keys the bundle's ``key_rotation`` entries chain to it."""
    return key_chain(key, bundle.rotations)


def _own_head_issues(
    bundle: Bundle, head: Checkpoint, chain: list[tuple[int, Verifier]]
) -> list[Issue]:
    try:
        own = parse_checkpoint(verify_head(str(bundle.header["checkpoint"]), chain)[0])
    except InputError as exc:
        return [Issue("signature", None, None, f"the bundle's own head: {exc.message}")]
    if own.size == head.size and own.root != head.root:
        return [
            Issue(
                "split_view",
                None,
                None,
                f"two signed heads of size {own.size} with different roots "
                f"({own.root.hex()} in the bundle, {head.root.hex()} published)",
            )
        ]
    return []


def read_head_text(path: Path) -> str:
    """The signed checkpoint in ``path``: a HEAD.json (its ``checkpoint``) or the note itself."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read head {path}: {exc}") from exc
    if text.lstrip().startswith("{"):
        try:
            return str(json.loads(text)["checkpoint"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a tree head JSON (no checkpoint): {exc}") from exc
    return text


def audit_files(
    bundle: Path, head: Path | Sequence[Path], key: Verifier, previous: Path | None = None
) -> AuditReport:
    """:func:`audit_bundle` on files; of several heads, the largest is checked in full.
    Every file is streamed: memory does not grow with the entries (with ``previous``,
    only with those after the first difference)."""
    if previous is not None:  # the kept bundle names entries only if it is itself intact
        prev = read_bundle(previous)
        own = audit_bundle(prev, str(prev.header["checkpoint"]), key)
        if not own.ok:
            raise InputError(
                f"{previous}: the kept bundle does not match its own signed head "
                f"({own.issues[0]}): it cannot name what changed"
            )
    texts = [read_head_text(p) for p in ([head] if isinstance(head, Path) else head)]
    if not texts:
        raise InputError("give the published head to check against (--head)")
    sizes = [s for s in (_claimed_size(t) for t in texts) if s is not None]
    now = read_bundle(bundle, sizes)
    chain = _chain(now, key)
    texts.sort(key=lambda t: parse_checkpoint(verify_head(t, chain)[0]).size)
    pair = None if previous is None else (previous, bundle)
    return audit_bundle(now, texts[-1], key, pair, texts[:-1])
