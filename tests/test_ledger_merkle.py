"""The Merkle tree against the RFC 6962 reference vectors (certificate-transparency /
transparency-dev/merkle test inputs) and, with hypothesis, for any size and index."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    edge_tiles,
    extend_tiles,
    hash_children,
    hash_leaf,
    inclusion_ranges,
    node_tile,
    nodes_from_tiles,
    root_from_leaves,
    tile_nodes,
    tile_widths,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index 1-based, tree size, proof) as in the reference tests
INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_from_leaves(b"") == EMPTY_ROOT


def test_roots_of_reference_inputs() -> None:
    for n in range(1, 9):
        tree = MemoryTree.from_data(LEAVES[:n])
        assert tree.root().hex() == ROOTS[n - 1]
        assert root_from_leaves(tree.levels[0]).hex() == ROOTS[n - 1]
    big = MemoryTree.from_data(LEAVES)
    assert [big.root(n).hex() for n in range(1, 9)] == ROOTS


def test_inclusion_proofs_of_reference_inputs() -> None:
    for leaf, size, want in INCLUSION:
        tree = MemoryTree.from_data(LEAVES[:size])
        got = tree.inclusion_proof(leaf - 1)
        assert [p.hex() for p in got] == want
        root = bytes.fromhex(ROOTS[size - 1])
        lh = hash_leaf(LEAVES[leaf - 1])
        assert verify_inclusion(leaf - 1, size, lh, got, root)
        # the reference tests' corruptions all fail
        assert not verify_inclusion(leaf, size, lh, got, root) or leaf == size
        assert not verify_inclusion(leaf - 1, size * 2, lh, got, root)
        assert not verify_inclusion(leaf - 1, size, hash_leaf(b"WrongLeaf"), got, root)
        assert not verify_inclusion(leaf - 1, size, lh, got, EMPTY_ROOT)
        assert not verify_inclusion(leaf - 1, size, lh, [*got, root], root)
        assert not verify_inclusion(leaf - 1, size, lh, [root, *got], root)
        for i in range(len(got)):
            bad = list(got)
            bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
            assert not verify_inclusion(leaf - 1, size, lh, bad, root)


def test_consistency_proofs_of_reference_inputs() -> None:
    tree = MemoryTree.from_data(LEAVES)
    for old, new, want in CONSISTENCY:
        got = tree.consistency_proof(old, new)
        assert [p.hex() for p in got] == want
        r1, r2 = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
        assert verify_consistency(old, new, r1, r2, got)
        assert not verify_consistency(old, new, r2, r1, got)
        assert not verify_consistency(old - 1, new, r1, r2, got)
        assert not verify_consistency(old, new * 2, r1, r2, got)
        assert not verify_consistency(old, new, r1, r2, got[:-1])
        assert not verify_consistency(old, new, r1, r2, [*got, r1])
        assert not verify_consistency(old, new, r1, r2, [])
        for i in range(len(got)):
            bad = list(got)
            bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
            assert not verify_consistency(old, new, r1, r2, bad)


def test_consistency_edge_cases() -> None:
    r = bytes(32)
    assert verify_consistency(0, 5, r, EMPTY_ROOT, [])
    assert verify_consistency(3, 3, r, r, [])
    assert not verify_consistency(3, 3, r, EMPTY_ROOT, [])
    assert not verify_consistency(4, 3, r, r, [])
    assert not verify_consistency(0, 1, r, r, [EMPTY_ROOT])


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 300), st.data())
def test_any_inclusion_proof_verifies_and_wrong_ones_fail(n: int, data: st.DataObject) -> None:
    tree = MemoryTree.from_data(i.to_bytes(4, "big") for i in range(n))
    i = data.draw(st.integers(0, n - 1))
    proof, root, lh = tree.inclusion_proof(i), tree.root(), tree.node(0, i)
    assert verify_inclusion(i, n, lh, proof, root)
    assert root == root_from_leaves(tree.levels[0])
    j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    assert not verify_inclusion(i, n, tree.node(0, j), proof, root)  # wrong leaf
    assert not verify_inclusion(j, n, lh, proof, root)  # wrong index
    # a size whose path has another length (n -> n + 1 can legitimately share a path)
    sizes = [s for s in range(i + 1, 2 * n + 2) if len(inclusion_ranges(i, s)) != len(proof)]
    for s in sizes[:5]:
        assert not verify_inclusion(i, s, lh, proof, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.data())
def test_any_consistency_proof_verifies_and_wrong_ones_fail(n: int, data: st.DataObject) -> None:
    tree = MemoryTree.from_data(i.to_bytes(4, "big") for i in range(n))
    m = data.draw(st.integers(1, n))
    proof = tree.consistency_proof(m, n)
    assert verify_consistency(m, n, tree.root(m), tree.root(), proof)
    other = MemoryTree.from_data([b"x"] + [i.to_bytes(4, "big") for i in range(1, n)])
    if m < n:
        assert not verify_consistency(m, n, other.root(m), tree.root(), proof)
        assert not verify_consistency(m, n, tree.root(m), other.root(), proof)


def _leaf_hashes(n: int) -> bytes:
    return b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=8), st.data())
def test_tiles_grown_batch_by_batch_are_the_trees_tiles(
    batches: list[int], data: st.DataObject
) -> None:
    """Whatever the batches, the tiles appends leave are the tree's, a full tile is
    never rewritten, and every perfect node read from them is the tree's node."""
    n = sum(batches)
    leaves = _leaf_hashes(n)
    tiles: dict[tuple[int, int], bytes] = {}
    size = 0
    for b in batches:
        edge = {(lv, i): tiles[(lv, i)] for lv, i, w in edge_tiles(size)}
        assert [len(edge[(lv, i)]) for lv, i, w in edge_tiles(size)] == [
            32 * w for _, _, w in edge_tiles(size)
        ]
        for lv, i, h in extend_tiles(size, edge, leaves[32 * size : 32 * (size + b)]):
            assert len(tiles.get((lv, i), b"")) < 256 * 32  # only partial tiles are rewritten
            tiles[(lv, i)] = h
        size += b
    tree = MemoryTree(leaves)
    assert tiles == {(lv, i): tree.tile(lv, i) for lv, i, _ in tile_widths(n)}
    level = data.draw(st.integers(0, len(tree.levels) - 1))
    idx = data.draw(st.integers(0, (n >> level) - 1))
    assert nodes_from_tiles([(level, idx)], tiles) == {(level, idx): tree.node(level, idx)}
    derived = [node for (lv, i), h in tiles.items() for node in tile_nodes(lv, i, h)]
    assert sorted(derived) == sorted(
        (lv, i, tree.node(lv, i)) for lv in range(len(tree.levels)) for i in range(n >> lv)
    )


def test_tiles_span_tile_levels() -> None:
    """65,537 leaves: 256 full level-0 tiles make a full level-1 tile, whose root is the
    one hash of level-2 tile 0; node (16, 0) is read from it, (15, 1) from tile (1, 0)."""
    n = 65_537
    leaves = _leaf_hashes(n)
    tiles = {(lv, i): h for lv, i, h in extend_tiles(0, {}, leaves)}
    tree = MemoryTree(leaves)
    assert sorted((k, len(h) // 32) for k, h in tiles.items())[-3:] == [
        ((0, 256), 1), ((1, 0), 256), ((2, 0), 1)
    ]  # fmt: skip
    assert node_tile((16, 0)) == ((2, 0), 0, 0) and node_tile((15, 1)) == ((1, 0), 7, 1)
    got = nodes_from_tiles([(16, 0), (15, 1), (0, 65_536)], tiles)
    assert got == {x: tree.node(*x) for x in [(16, 0), (15, 1), (0, 65_536)]}
    assert tree.root() == hash_children(tree.node(16, 0), tree.node(0, 65_536))
