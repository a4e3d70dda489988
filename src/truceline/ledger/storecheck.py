"""Re-check what the store holds: entries, tree tiles, signed heads and record rows.

Catches a row changed behind the API: an entry whose data no longer matches its
leaf hash, entries missing (in the middle or at the end), entries appended
without their tree tiles, a tree tile edited, cut short or deleted, a signed head whose root
the entries no longer give, and a record row (``storerows``) that differs from
its entry. Each problem is named once, by its first cause: the leaves are placed
by their index, so one deleted entry is one problem, not a shift of every node,
head and row after it; a node over a missing entry, a head over a named change
and a row whose entry is named are echoes and are not named again.

The store is read through :class:`StoreView` (``truceline.store.ledger_check.LedgerView``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from truceline.domain.errors import InputError, IntegrityError
from truceline.ledger.audit import Issue
from truceline.ledger.incidentcheck import INCIDENT_KINDS, IncidentFold, check_incidents
from truceline.ledger.merkle import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    MemoryTree,
    Node,
    Tile,
    hash_leaf,
    tile_widths,
)
from truceline.ledger.note import (
    Checkpoint,
    Verifier,
    parse_checkpoint,
    verify_cosignature,
    verify_note,
)
from truceline.ledger.rotation import ROTATION, key_chain
from truceline.ledger.storerows import Known, LedgeredRow, check_rows

__all__ = ["HeadRow", "LedgeredRow", "StoreReport", "StoreView", "verify_store"]

_MAX_PER_CHECK = 200
_ZERO = bytes(HASH_SIZE)
_NOT_ENVELOPE = "data is not a JSON ledger envelope"


@dataclass(frozen=True, slots=True)
class HeadRow:
    """A stored tree head as its row holds it."""

    id: int
    size: int
    root_hash: bytes
    issued_at: int
    key_id: str
    checkpoint: str


class StoreView(Protocol):
    """What the check reads from the store (``truceline.store.ledger_check.LedgerView``)."""

    def entries(self) -> Iterable[tuple[int, str, str, bytes, bytes, int]]: ...
    def cosignatures(self, head_id: int) -> list[tuple[str, str]]: ...
    def tiles(self) -> Iterable[tuple[int, int, bytes]]: ...
    def verifiers(self) -> dict[str, Verifier]: ...
    def heads(self) -> list[HeadRow]: ...
    def tables(self) -> list[str]: ...
    def rows(self, table: str) -> Iterable[LedgeredRow]: ...
    def histories(self, table: str) -> dict[str, list[tuple[int, bytes]]]: ...
    def entry_data(self, index: int) -> bytes | None: ...
    def incident_rows(self) -> Iterable[Mapping[str, Any]]: ...
    def memberships(self) -> Iterable[tuple[int, int]]: ...


@dataclass(slots=True)
class StoreReport:
    entries: int = 0
    heads: int = 0
    rows: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass(slots=True)
class _Ledger:
    """The entries placed by index; a missing index holds a zero hash."""

    size: int = 0  # highest index + 1
    kinds: dict[int, str] = field(default_factory=dict)
    refs: dict[int, str] = field(default_factory=dict)
    statuses: dict[str, set[str]] = field(default_factory=dict)  # ref -> later to_status
    stored: bytearray = field(default_factory=bytearray)
    computed: bytearray = field(default_factory=bytearray)
    gaps: list[tuple[int, int]] = field(default_factory=list)  # [lo, hi) missing
    named: set[int] = field(default_factory=set)  # entries with a problem of their own
    rotations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    incidents: IncidentFold = field(default_factory=IncidentFold)
    escalations: dict[tuple[Any, Any, Any], Any] = field(default_factory=dict)
    asked: dict[tuple[Any, Any, Any], tuple[int, Any, Any]] = field(default_factory=dict)
    answered: set[tuple[Any, Any, Any]] = field(default_factory=set)

    def missing_in(self, lo: int, hi: int) -> bool:
        return any(a < hi and lo < b for a, b in self.gaps)


def _scan_entries(view: StoreView, rep: StoreReport) -> _Ledger:
    led = _Ledger()
    for idx, kind, ref, data, lh, at in view.entries():
        if idx > led.size:
            gap = idx - led.size
            led.gaps.append((led.size, idx))
            led.stored += _ZERO * gap
            led.computed += _ZERO * gap
            what = f"entry {led.size} is" if gap == 1 else f"entries {led.size}..{idx - 1} are"
            rep.issues.append(Issue("deleted", led.size, None, f"{what} missing"))
        led.size = idx + 1
        h = hash_leaf(data)
        problem = _entry_problem(idx, data, kind, ref, h, lh, at, led)
        if problem:
            led.named.add(idx)
            rep.issues.append(Issue("modified" if h != lh else "relabelled", idx, kind, problem))
        led.kinds[idx], led.refs[idx] = kind, ref
        led.stored += lh
        led.computed += h
    rep.entries = len(led.kinds)
    return led


def _entry_problem(  # noqa: PLR0913
    idx: int, data: bytes, kind: str, ref: str, h: bytes, lh: bytes, at: int, led: _Ledger
) -> str:
    try:
        env = json.loads(data)
        rec = env.get("record")
    except (ValueError, AttributeError):
        return "data does not match its leaf hash" if h != lh else _NOT_ENVELOPE
    if kind in INCIDENT_KINDS:  # folded even when altered: its incident is then explained
        led.incidents.add(idx, kind, ref, rec)
    if h != lh:
        return "data does not match its leaf hash"
    if isinstance(rec, dict) and "to_status" in rec:
        led.statuses.setdefault(ref, set()).add(str(rec["to_status"]))
    if kind == ROTATION and isinstance(rec, dict):
        led.rotations.append((idx, rec))
    if kind == "notification_escalation" and isinstance(rec, dict):
        who = (rec.get("notification"), rec.get("version"), rec.get("party"))
        led.escalations[who] = rec.get("escalated_at")
    if kind == "notification_answer" and isinstance(rec, dict):
        led.answered.add((rec.get("notification"), rec.get("version"), rec.get("party")))
    if kind == "notification" and isinstance(rec, dict):
        for p in rec.get("asked") or []:
            who = (rec.get("notification"), rec.get("version"), p)
            led.asked[who] = (idx, env.get("at"), rec.get("answer_due_at"))
    if env.get("kind") != kind or env.get("ref") != ref:
        return "kind/ref differ from the data"
    if "at" in env and env["at"] != at:
        return f"at is {at} in ledger_entries but {env['at']} in the leaf"
    return ""


def _chain(
    keys: dict[str, Verifier], heads: list[HeadRow], led: _Ledger, rep: StoreReport
) -> dict[str, int]:
    """The size from which each key may sign: the key of the first head from 0, a later
    one from the ``key_rotation`` entry, signed by the key before it, that introduces it."""
    if not heads or heads[0].key_id not in keys:
        return {k: 0 for k in keys}
    first = keys[heads[0].key_id]
    try:
        chain = key_chain(first, led.rotations)
    except (InputError, IntegrityError) as exc:
        rep.issues.append(Issue("key", None, None, f"key rotations: {exc.message}"))
        return {k: 0 for k in keys}
    return {v.key_id: since for since, v in chain}


def _signed(view: StoreView, led: _Ledger, rep: StoreReport) -> list[tuple[HeadRow, Checkpoint]]:
    """Every head whose signature holds, with its signed checkpoint."""
    keys = view.verifiers()
    heads = sorted(view.heads(), key=lambda h: (h.size, h.id))
    since = _chain(keys, heads, led, rep)
    out = []
    for row in heads:
        rep.heads += 1
        label = f"tree head #{row.id} (size {row.size})"
        if row.key_id not in since or row.size < since[row.key_id]:
            why = "by a key no key_rotation entry signed by the previous key introduces"
            rep.issues.append(Issue("key", None, None, f"{label}: signed {why}"))
            continue
        try:
            cp = parse_checkpoint(verify_note(row.checkpoint, keys[row.key_id]))
        except (InputError, KeyError) as exc:
            rep.issues.append(Issue("signature", None, None, f"{label}: signature fails: {exc}"))
            continue
        diffs = []
        if cp.size != row.size or cp.root != row.root_hash:
            diffs.append("size/root_hash columns differ from its signed text")
        if cp.time is not None and cp.time != row.issued_at:
            diffs.append(f"issued_at is {row.issued_at} but it was signed at {cp.time}")
        diffs += _cosignature_problems(view, row)
        if diffs:
            rep.issues.append(Issue("head", None, None, f"{label}: " + "; ".join(diffs)))
        out.append((row, cp))
    return out


def _cosignature_problems(view: StoreView, row: HeadRow) -> list[str]:
    out = []
    for witness, line in view.cosignatures(row.id):
        try:
            verify_cosignature(row.checkpoint + line, Verifier.parse(witness))
        except InputError as exc:
            out.append(f"the cosignature of {witness.split('+')[0]} fails: {exc.message}")
    return out


def _check_heads(
    signed: list[tuple[HeadRow, Checkpoint]], led: _Ledger, rep: StoreReport, cut: bool
) -> bool:
    """Name a truncation once (returns whether there is one), and the first head whose
    root the entries no longer give unless an entry's own problem already explains it."""
    if not signed:
        return cut
    row, top = max(signed, key=lambda h: (h[1].size, h[0].id))
    truncated = top.size > led.size
    if truncated and not cut:
        rep.issues.append(
            Issue(
                "truncated",
                led.size,
                None,
                f"entries {led.size}..{top.size - 1} are missing at the end: "
                f"head #{row.id} signed {top.size} entries, the ledger has {led.size}",
            )
        )
    tree = MemoryTree(bytes(led.computed))
    good = 0
    for row, cp in sorted(signed, key=lambda h: (h[1].size, h[0].id)):
        if cp.size > led.size:
            break
        if tree.root(cp.size) == cp.root:
            good = max(good, cp.size)
            continue
        if not any(i.index is not None and i.index < cp.size for i in rep.issues):
            rep.issues.append(
                Issue(
                    "root",
                    good,
                    None,
                    f"tree head #{row.id} (size {cp.size}): entries {good}..{cp.size - 1} "
                    "changed since it was signed (rewritten with their hashes)",
                )
            )
        break
    return cut or truncated


def _check_tiles(view: StoreView, led: _Ledger, rep: StoreReport, signed: int) -> int | None:
    """Compare every stored tile with the leaves; returns where entries were appended
    without tiles or removed at the end (once named), else None."""
    tree = MemoryTree(bytes(led.stored))
    found, beyond = 0, 0
    seen: dict[Tile, int] = {}  # stored tile -> its width
    tainted: set[Node] = set()  # parents of a bad hash: they differ in cascade
    for level, t, hashes in view.tiles():
        width = len(hashes) // HASH_SIZE
        seen[(level, t)] = width
        h, first = level * TILE_HEIGHT, t * TILE_WIDTH
        if (first + width) << h > led.size:
            beyond = max(beyond, (first + width) << h)
            continue
        want = tree.tile(level, t)[: width * HASH_SIZE]
        if hashes == want:
            continue
        if len(hashes) % HASH_SIZE:
            found += 1
            rep.issues.append(_bad_tile(level, t, width))
            continue
        for j in range(width):
            i, k = first + j, j * HASH_SIZE
            if hashes[k : k + HASH_SIZE] == want[k : k + HASH_SIZE]:
                continue
            if led.missing_in(i << h, (i + 1) << h):
                continue  # a hash over a missing entry is an echo of that deletion
            tainted.add((h + TILE_HEIGHT, i >> TILE_HEIGHT))
            if (h, i) in tainted or found >= _MAX_PER_CHECK:
                continue
            found += 1
            rep.issues.append(_bad_node(h, i, led))
    if beyond:
        end = max(beyond, signed)  # a head may have signed entries past the tiles' end
        rep.issues.append(
            Issue(
                "truncated",
                led.size,
                None,
                f"entries {led.size}..{end - 1} are missing at the end: "
                "the tree's stored tiles (and signed heads) still cover them",
            )
        )
        return led.size
    return _missing_tiles(seen, led, rep, signed)


def _bad_tile(level: int, t: int, width: int) -> Issue:
    lo = (t * TILE_WIDTH) << (level * TILE_HEIGHT)
    return Issue(
        "modified",
        lo,
        None,
        f"tree tile (level {level}, index {t}) is not a whole number of hashes: "
        "ledger_tiles was edited",
    )


def _bad_node(level: int, idx: int, led: _Ledger) -> Issue:
    lo, hi = idx << level, (idx + 1) << level
    if level == 0:
        return Issue(
            "modified",
            lo,
            led.kinds.get(lo),
            f"entry {lo} no longer hashes to the tree's stored leaf hash (tile level 0, "
            f"index {lo // TILE_WIDTH}): rewritten with its leaf hash, or ledger_tiles edited",
        )
    return Issue(  # the tile below hashes right: the tile holding this node was edited
        "modified",
        lo,
        None,
        f"tree node (level {level}, index {idx}) over entries {lo}..{hi - 1} is "
        "not the hash of the nodes below it: ledger_tiles was edited",
    )


def _missing_tiles(
    seen: Mapping[Tile, int], led: _Ledger, rep: StoreReport, signed: int
) -> int | None:
    every = {(lv, t): w for lv, t, w in tile_widths(led.size)}
    short = [tile for tile, w in every.items() if seen.get(tile, 0) < w]
    if not short:
        return None
    # entries appended behind the API leave the tiles of a shorter tree: those of the
    # leaves the level-0 tiles cover from the start; a head signed past that point, or
    # a tile stored beyond a missing one, means rows of ledger_tiles were deleted
    cover = 0
    while seen.get((0, cover // TILE_WIDTH), 0) == TILE_WIDTH:
        cover += TILE_WIDTH
    cover += seen.get((0, cover // TILE_WIDTH), 0)
    if signed > cover or seen != {(lv, t): w for lv, t, w in tile_widths(cover)}:
        lv, t = short[0]
        lo = (t * TILE_WIDTH) << (lv * TILE_HEIGHT)
        hi = min(led.size, ((t + 1) * TILE_WIDTH) << (lv * TILE_HEIGHT))
        rep.issues.append(
            Issue(
                "deleted",
                lo,
                None,
                f"{len(short)} tree tile(s) missing or cut short, the first (level {lv}, "
                f"index {t}) over entries {lo}..{hi - 1}: ledger_tiles rows were deleted",
            )
        )
        return None
    what = (
        f"entry {cover} was" if cover == led.size - 1 else f"entries {cover}..{led.size - 1} were"
    )
    rep.issues.append(
        Issue(
            "appended",
            cover,
            led.kinds.get(cover),
            f"{what} appended behind the API: their tree tiles are missing",
        )
    )
    return cover


def verify_store(view: StoreView) -> StoreReport:
    """Every check above, on what ``view`` reads (one read-only transaction)."""
    rep = StoreReport()
    led = _scan_entries(view, rep)
    signed = _signed(view, led, rep)
    top = max((cp.size for _, cp in signed), default=0)
    tail = _check_tiles(view, led, rep, top)
    if _check_heads(signed, led, rep, cut=tail == led.size):
        tail = led.size
    known = Known(
        led.size,
        set(led.kinds),
        led.kinds,
        led.refs,
        led.statuses,
        led.named | {i for a, b in led.gaps for i in range(a, b)},
        tail,
        escalations=led.escalations,
        asked=led.asked,
        answered=led.answered,
    )
    rep.rows, issues = check_rows(view, known)
    explained = known.explained | set(range(tail if tail is not None else led.size, led.size))
    issues += check_incidents(
        led.incidents, view.incident_rows(), view.memberships(), explained, led.gaps
    )
    rep.issues = [_with_referrer(i, known.referrers) for i in rep.issues] + issues
    return rep


def _with_referrer(issue: Issue, referrers: dict[int, str]) -> Issue:
    """A missing entry's problem, naming the row that still refers to it."""
    if issue.problem != "deleted" or issue.index not in referrers or "tree tile" in issue.detail:
        return issue
    detail = f"{issue.detail} ({referrers[issue.index]} refers to it)"
    return Issue(issue.problem, issue.index, issue.kind, detail)
