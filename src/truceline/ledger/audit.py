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
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truceline.domain.errors import InputError
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.merkle import HASH_SIZE, MemoryTree, hash_leaf, root_from_leaves
from truceline.ledger.note import Checkpoint, Verifier, parse_checkpoint
from truceline.ledger.rotation import ROTATION, key_chain, verify_head

_MAX_NAMED = 1000

__all__ = [
    "AuditReport",
    "Bundle",
    "Issue",
    "audit_bundle",
    "audit_files",
    "diff_entries",
    "read_bundle",
    "read_head_text",
]


@dataclass(slots=True)
class Bundle:
    """A bundle read in one streamed pass: its header, each entry's label and kind, and
    the leaf hashes recomputed from the data (32 bytes an entry; the data is not kept).
    Problems an entry shows on its own (``issues``) and ``key_rotation`` records are
    collected while reading."""

    header: dict[str, Any]
    idx: array[int] = field(default_factory=lambda: array("q"))
    kinds: list[str] = field(default_factory=list)
    leaves: bytearray = field(default_factory=bytearray)
    issues: list[Issue] = field(default_factory=list)
    rotations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.idx)

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


def read_bundle(path: Path) -> Bundle:
    """Read a bundle file in one pass; a malformed line is an InputError naming the line."""
    try:
        with path.open(encoding="utf-8") as f:
            header = json.loads(f.readline())
            if not isinstance(header, dict) or "checkpoint" not in header:
                raise InputError(f"{path}: line 1 is not a bundle header (no checkpoint)")
            bundle = Bundle(header)
            for n, line in enumerate(f, start=2):
                try:
                    d = json.loads(line)
                    _add(bundle, int(d["idx"]), str(d["kind"]), str(d["ref"]), d["data"], d)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise InputError(f"{path}, line {n}: not a ledger entry: {exc}") from exc
    except OSError as exc:
        raise InputError(f"cannot read bundle {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: header is not JSON: {exc}") from exc
    bundle.issues.extend(_label_issues(bundle.idx, bundle.kinds))
    return bundle


def _add(b: Bundle, idx: int, kind: str, ref: str, text: str, d: dict[str, Any]) -> None:
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
    b.idx.append(idx)
    b.kinds.append(sys.intern(kind))
    b.leaves += h


def _label_issues(idx: Sequence[int], kinds: Sequence[str]) -> list[Issue]:
    """Gaps, repeats and disorder in the entries' ``idx`` labels."""
    out: list[Issue] = []
    labels: set[int] | None = None  # built only when labels are out of sequence
    seen: set[int] = set()
    top = -1
    for pos, (i, kind) in enumerate(zip(idx, kinds, strict=True)):
        if i == top + 1 and labels is None:
            top = i
            continue
        if labels is None:
            labels, seen = set(idx), set(idx[:pos])
        if i == top + 1:
            pass
        elif i > top + 1:
            gone = [j for j in range(top + 1, i) if j not in labels]
            for j in gone[:_MAX_NAMED]:
                out.append(Issue("deleted", j, None, "missing from the bundle"))
            if len(gone) < i - top - 1:
                out.append(Issue("reordered", i, kind, f"found early, at position {pos}"))
        elif i in seen:
            out.append(Issue("inserted", i, kind, f"a second entry {i} at position {pos}"))
        else:
            out.append(Issue("reordered", i, kind, f"found late, at position {pos}"))
        seen.add(i)
        top = max(top, i)
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


def diff_entries(old: Bundle, new: Bundle) -> list[Issue]:
    """Name each entry of ``old`` (a trusted earlier bundle) modified, deleted, moved or
    inserted in ``new``; entries appended after all of ``old`` are not issues."""
    old_pos = {old.leaf(i): i for i in range(old.size)}
    new_pos = {new.leaf(j): j for j in range(new.size)}
    issues: list[Issue] = []
    modified: set[int] = set()
    for i in range(old.size):
        if old.leaf(i) in new_pos:
            continue
        if i < new.size and new.leaf(i) not in old_pos:
            modified.add(i)
            issues.append(Issue("modified", i, old.kinds[i], f"now {new.kinds[i]} with other data"))
        else:
            issues.append(Issue("deleted", i, old.kinds[i], "no longer in the log"))
    matched = [(j, old_pos[new.leaf(j)]) for j in range(new.size) if new.leaf(j) in old_pos]
    last_old = max((j for j, _ in matched), default=-1)
    for j in range(new.size):
        if new.leaf(j) not in old_pos and j not in modified and j < last_old:
            issues.append(Issue("inserted", j, new.kinds[j], "not in the earlier bundle"))
    keep = _lis_members([i for _, i in matched])
    moved = {j for k, (j, _) in enumerate(matched) if k not in keep}
    moved |= {j for j, i in matched if i != j and i in moved}  # the other side of a swap
    for j, i in matched:
        if j in moved:
            issues.append(Issue("reordered", i, old.kinds[i], f"moved to position {j}"))
    return issues


def audit_bundle(
    bundle: Bundle,
    head_text: str,
    key: Verifier,
    previous: Bundle | None = None,
    earlier_heads: Sequence[str] = (),
) -> AuditReport:
    """Check ``bundle`` against a published head signed by ``key`` (see the module doc);
    ``earlier_heads`` (smaller signed heads the auditor kept) narrow down a root mismatch."""
    chain = _chain(bundle, key)
    head = parse_checkpoint(verify_head(head_text, chain)[0])
    root = root_from_leaves(bytes(bundle.leaves[: head.size * HASH_SIZE]))
    rep = AuditReport(head.size, head.root.hex(), bundle.size, root.hex())
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
            rep.issues.extend(diff_entries(previous, bundle))
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
    tree = MemoryTree(bytes(bundle.leaves))
    good = 0
    for h in sorted(heads, key=lambda h: h.size):
        if h.size > tree.size or tree.root(h.size) != h.root:
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
    """:func:`audit_bundle` on files; of several heads, the largest is checked in full."""
    prev = None if previous is None else read_bundle(previous)
    if prev is not None:  # the kept bundle names entries only if it is itself intact
        own = audit_bundle(prev, str(prev.header["checkpoint"]), key)
        if not own.ok:
            raise InputError(
                f"{previous}: the kept bundle does not match its own signed head "
                f"({own.issues[0]}): it cannot name what changed"
            )
    texts = [read_head_text(p) for p in ([head] if isinstance(head, Path) else head)]
    if not texts:
        raise InputError("give the published head to check against (--head)")
    now = read_bundle(bundle)
    chain = _chain(now, key)
    texts.sort(key=lambda t: parse_checkpoint(verify_head(t, chain)[0]).size)
    return audit_bundle(now, texts[-1], key, prev, texts[:-1])
