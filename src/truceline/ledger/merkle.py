"""The Merkle tree of RFC 9162 (and RFC 6962), as pure functions.

Hashing: ``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``;
the tree over ``n`` leaves splits at the largest power of two smaller than ``n``.

A *perfect node* ``(level, idx)`` is the root of the complete subtree over leaves
``[idx * 2**level, (idx + 1) * 2**level)``; level 0 holds the leaf hashes. Every
subtree that a root or a proof needs is either a perfect node or a "right edge"
range ``[a, n)`` that splits into ``popcount(n - a)`` perfect nodes, so a proof is
assembled from O(log n) stored nodes (:func:`inclusion_ranges`,
:func:`consistency_ranges`, :func:`perfect_parts`), whatever stores them: a
database table (``store.ledger``) or memory (:class:`MemoryTree`).

Hash arrays are ``bytes`` of concatenated 32-byte digests; each level is hashed
in one pass over the contiguous level below (no per-node Python objects other than
the digest itself).

Stored, the tree is a set of *tiles* (C2SP ``tlog-tiles``, height 8): tile
``(L, N)`` holds up to 256 consecutive hashes of tree level ``8L`` from index
``256 N`` (level 0 holds the leaf hashes); the levels inside a tile are recomputed
from it (at most 255 hashes), and the root of a full tile is a hash of the tile
above. Only the right-edge tiles are partial, so an append rewrites at most one
tile per tile level and adds new ones (:func:`extend_tiles`); a node is read from
the one tile that holds its subtree's bottom (:func:`node_tile`,
:func:`nodes_from_tiles`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryTree",
    "Node",
    "StreamTree",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "consistency_ranges",
    "edge_tiles",
    "extend_tiles",
    "frontier",
    "hash_children",
    "hash_leaf",
    "hash_leaves",
    "hash_level",
    "inclusion_ranges",
    "new_nodes",
    "node_tile",
    "nodes_from_tiles",
    "perfect_parts",
    "range_hash",
    "resolve",
    "root_from_leaves",
    "tile_levels",
    "tile_nodes",
    "tile_widths",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
Node = tuple[int, int]  # (level, idx)

_sha256 = hashlib.sha256


def hash_leaf(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def hash_leaves(datas: Iterable[bytes]) -> bytes:
    """The concatenated leaf hashes of ``datas``."""
    return b"".join([_sha256(b"\x00" + d).digest() for d in datas])


def hash_level(level: bytes) -> bytes:
    """Hash adjacent pairs of a level (an even number of 32-byte hashes) into the next."""
    w = 2 * HASH_SIZE
    return b"".join([_sha256(b"\x01" + level[i : i + w]).digest() for i in range(0, len(level), w)])


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect nodes, left to right, whose fold is the RFC subtree hash of [start, end).

    ``start`` must be aligned as in the RFC recursion (a multiple of the largest
    power of two not exceeding ``end - start``), which every range below is.
    """
    parts: list[Node] = []
    s = start
    while s < end:
        level = (end - s).bit_length() - 1
        parts.append((level, s >> level))
        s += 1 << level
    return parts


def range_hash(parts: Sequence[bytes]) -> bytes:
    """Fold perfect-node hashes from the right: the RFC hash of their union."""
    if not parts:
        return EMPTY_ROOT
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = hash_children(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtree ranges of RFC 9162 PATH(index, D[0:size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The subtree ranges of RFC 9162 PROOF(old, D[0:new]), in proof order."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def root_from_leaves(leaves: bytes) -> bytes:
    """The RFC root of the concatenated leaf hashes ``leaves`` (bulk, level by level)."""
    level = leaves
    carried: list[bytes] = []  # trailing perfect roots, smallest first
    while len(level) > HASH_SIZE:
        count = len(level) // HASH_SIZE
        if count % 2:
            carried.append(level[-HASH_SIZE:])
            level = level[:-HASH_SIZE]
        level = hash_level(level)
    if not level:
        return EMPTY_ROOT
    carried.append(level)
    return range_hash(carried[::-1])


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` place ``leaf_hash`` at ``index`` under ``root``?"""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree (new, new_root) an extension of (old, old_root)?"""
    if not 0 <= old <= new or any(len(p) != HASH_SIZE for p in proof):
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def frontier(n: int) -> list[Node]:
    """The perfect nodes a tree of ``n`` leaves ends with (one per set bit of ``n``)."""
    return [(k, (n >> k) - 1) for k in range(n.bit_length()) if (n >> k) & 1]


def new_nodes(
    old_size: int, new_leaves: bytes, front: Mapping[Node, bytes]
) -> list[tuple[int, int, bytes]]:
    """The perfect nodes (level >= 1) completed by appending ``new_leaves`` to a tree of
    ``old_size`` leaves whose :func:`frontier` hashes are ``front``."""
    n0, n1 = old_size, old_size + len(new_leaves) // HASH_SIZE
    rows: list[tuple[int, int, bytes]] = []
    arr, k = new_leaves, 0
    while (n1 >> (k + 1)) > (n0 >> (k + 1)):
        lo = n0 >> k
        start = lo
        if lo & 1:
            arr = front[(k, lo - 1)] + arr
            start = lo - 1
        pairs = ((n1 >> k) - start) // 2
        arr = hash_level(arr[: pairs * 2 * HASH_SIZE])
        base = start // 2
        rows.extend(
            (k + 1, base + j, arr[j * HASH_SIZE : (j + 1) * HASH_SIZE]) for j in range(pairs)
        )
        k += 1
    return rows


def resolve(
    ranges: Sequence[tuple[int, int]], fetch: Callable[[Sequence[Node]], Mapping[Node, bytes]]
) -> list[bytes]:
    """The hashes of ``ranges``, reading their perfect nodes with one ``fetch`` call."""
    parts = [perfect_parts(a, b) for a, b in ranges]
    wanted = sorted({n for p in parts for n in p})
    got = fetch(wanted)
    return [range_hash([got[n] for n in p]) for p in parts]


# -- tiles (C2SP tlog-tiles, height 8) ---------------------------------------------

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
Tile = tuple[int, int]  # (tile level, tile index)


def tile_widths(size: int) -> list[tuple[int, int, int]]:
    """Every tile ``(level, idx, width)`` of a tree of ``size`` leaves, by level then index
    (the last tile of a level is partial when its width is below 256)."""
    out: list[tuple[int, int, int]] = []
    level, count = 0, size
    while count:
        out.extend(
            (level, t, min(TILE_WIDTH, count - t * TILE_WIDTH))
            for t in range(-(-count // TILE_WIDTH))
        )
        level, count = level + 1, count >> TILE_HEIGHT
    return out


def edge_tiles(size: int) -> list[tuple[int, int, int]]:
    """The partial tiles ``(level, idx, width)`` at the right edge of a tree of ``size``."""
    out: list[tuple[int, int, int]] = []
    level, count = 0, size
    while count:
        if count % TILE_WIDTH:
            out.append((level, count // TILE_WIDTH, count % TILE_WIDTH))
        level, count = level + 1, count >> TILE_HEIGHT
    return out


def tile_levels(tile: bytes) -> list[bytes]:
    """The levels inside a tile, from its own hashes up (at most ``TILE_HEIGHT`` of them;
    a full tile's root is a hash of the tile above, not one of these)."""
    levels = [tile]
    level = tile
    while len(level) >= 2 * HASH_SIZE and len(levels) < TILE_HEIGHT:
        level = hash_level(level[: len(level) // (2 * HASH_SIZE) * 2 * HASH_SIZE])
        levels.append(level)
    return levels


def node_tile(node: Node) -> tuple[Tile, int, int]:
    """The tile holding the bottom of ``node``'s subtree, the node's level inside that
    tile and its index at that level."""
    level, idx = node
    tile_level, rel = divmod(level, TILE_HEIGHT)
    t = idx >> (TILE_HEIGHT - rel)
    return (tile_level, t), rel, idx - (t << (TILE_HEIGHT - rel))


def nodes_from_tiles(wanted: Iterable[Node], tiles: Mapping[Tile, bytes]) -> dict[Node, bytes]:
    """The hashes of the perfect nodes ``wanted`` that ``tiles`` hold (others are left out)."""
    inner: dict[Tile, list[bytes]] = {}
    out: dict[Node, bytes] = {}
    for node in wanted:
        tile, rel, j = node_tile(node)
        if tile not in tiles:
            continue
        if tile not in inner:
            inner[tile] = tile_levels(tiles[tile])
        levels = inner[tile]
        if rel < len(levels) and (j + 1) * HASH_SIZE <= len(levels[rel]):
            out[node] = levels[rel][j * HASH_SIZE : (j + 1) * HASH_SIZE]
    return out


def tile_nodes(level: int, idx: int, tile: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Every perfect node ``(level, idx, hash)`` whose subtree's bottom is in ``tile``."""
    for rel, hashes in enumerate(tile_levels(tile)):
        first = idx << (TILE_HEIGHT - rel)
        for j in range(len(hashes) // HASH_SIZE):
            yield level * TILE_HEIGHT + rel, first + j, hashes[j * HASH_SIZE : (j + 1) * HASH_SIZE]


def extend_tiles(
    old_size: int, edge: Mapping[Tile, bytes], new_leaves: bytes
) -> list[tuple[int, int, bytes]]:
    """The tiles ``(level, idx, hashes)`` to write when ``new_leaves`` (concatenated leaf
    hashes) are appended to a tree of ``old_size`` whose partial right-edge tiles
    (:func:`edge_tiles`) hold ``edge``: those partial tiles grown, and new ones. Every
    full tile's root is hashed in one pass over the contiguous run of full tiles."""
    out: list[tuple[int, int, bytes]] = []
    level, count, new = 0, old_size, new_leaves
    tile_bytes = TILE_WIDTH * HASH_SIZE
    while new:
        first = count // TILE_WIDTH
        run = (edge[(level, first)] if count % TILE_WIDTH else b"") + new
        out.extend(
            (level, first + k // tile_bytes, run[k : k + tile_bytes])
            for k in range(0, len(run), tile_bytes)
        )
        new = run[: len(run) // tile_bytes * tile_bytes]
        for _ in range(TILE_HEIGHT):
            new = hash_level(new)
        level, count = level + 1, count >> TILE_HEIGHT
    return out


class MemoryTree:
    """Every perfect node of a tree held in memory: the in-memory node store."""

    def __init__(self, leaves: bytes) -> None:
        self.size = len(leaves) // HASH_SIZE
        self.levels = [leaves]
        level = leaves
        while len(level) >= 2 * HASH_SIZE:
            even = len(level) // (2 * HASH_SIZE) * 2 * HASH_SIZE
            level = hash_level(level[:even])
            self.levels.append(level)

    @classmethod
    def from_data(cls, datas: Iterable[bytes]) -> MemoryTree:
        return cls(hash_leaves(datas))

    def node(self, level: int, idx: int) -> bytes:
        return self.levels[level][idx * HASH_SIZE : (idx + 1) * HASH_SIZE]

    def fetch(self, nodes: Sequence[Node]) -> dict[Node, bytes]:
        return {(lv, i): self.node(lv, i) for lv, i in nodes}

    def tile(self, level: int, idx: int) -> bytes:
        """Tile ``(level, idx)`` of this tree (partial at the right edge, empty beyond)."""
        h = level * TILE_HEIGHT
        if h >= len(self.levels):
            return b""
        start = idx * TILE_WIDTH * HASH_SIZE
        return self.levels[h][start : start + TILE_WIDTH * HASH_SIZE]

    def root(self, size: int | None = None) -> bytes:
        n = self.size if size is None else size
        return resolve([(0, n)], self.fetch)[0] if n else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return resolve(inclusion_ranges(index, self.size if size is None else size), self.fetch)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        return resolve(consistency_ranges(old, self.size if new is None else new), self.fetch)


class StreamTree:
    """The tree fed one leaf hash at a time, holding only its stack of perfect subtrees
    (one hash per set bit of the size): the roots of the prefix sizes in ``sizes`` and
    the perfect nodes in ``wanted`` are kept as they complete. Memory does not grow with
    the leaves (a streamed bundle audit, a witness computing a consistency proof)."""

    def __init__(self, sizes: Iterable[int] = (), wanted: Iterable[Node] = ()) -> None:
        self.size = 0
        self.sizes = set(sizes)
        self.wanted = set(wanted)
        self.roots: dict[int, bytes] = {0: EMPTY_ROOT} if 0 in self.sizes else {}
        self.nodes: dict[Node, bytes] = {}
        self._hashes: list[bytes] = []  # perfect subtrees, largest (leftmost) first
        self._levels: list[int] = []

    def add(self, leaf: bytes) -> None:
        i, h, lv = self.size, leaf, 0
        if (0, i) in self.wanted:
            self.nodes[(0, i)] = h
        while self._levels and self._levels[-1] == lv:
            self._levels.pop()
            h = _sha256(b"\x01" + self._hashes.pop() + h).digest()
            lv += 1
            if self.wanted and (lv, i >> lv) in self.wanted:
                self.nodes[(lv, i >> lv)] = h
        self._hashes.append(h)
        self._levels.append(lv)
        self.size = i + 1
        if self.size in self.sizes:
            self.roots[self.size] = self.root()

    def root(self) -> bytes:
        """The root of the leaves fed so far."""
        return range_hash(self._hashes)
