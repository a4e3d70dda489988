"""Conflict search: hand-made volumes at the edges, and a property test that the bulk
grid join and the live R-tree both equal brute force."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.deconfliction.live import LiveIndex
from truceline.deconfliction.search import Boxes, conflict_pairs
from truceline.deconfliction.volumes import FOREVER, Volume

H = 3600


def square(x: float, y: float, s: float) -> shapely.Polygon:
    return shapely.box(x, y, x + s, y + s)


def vol(g: object, t0: int = 0, t1: int = H, lo: float = 0, hi: float = 100) -> Volume:
    return Volume(g, "flight", t0, t1, lo, hi)  # type: ignore[arg-type]


def bulk(q: list[Volume], v: list[Volume]) -> set[tuple[int, int]]:
    def boxes(vs: list[Volume]) -> tuple[Boxes, np.ndarray]:
        g = np.array([x.geometry for x in vs], dtype=object)
        return Boxes.of(
            g,
            [x.t_start for x in vs],
            [x.t_end for x in vs],
            [x.alt_min for x in vs],
            [x.alt_max for x in vs],
        ), g

    (qb, qg), (vb, vg) = boxes(q), boxes(v)
    qi, vi = conflict_pairs(qb, qg, vb, vg)
    return set(zip(qi.tolist(), vi.tolist(), strict=True))


def brute(q: list[Volume], v: list[Volume]) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i, a in enumerate(q)
        for j, b in enumerate(v)
        if a.geometry.intersects(b.geometry)
        and a.alt_min <= b.alt_max
        and b.alt_min <= a.alt_max
        and a.t_start <= b.t_end
        and b.t_start <= a.t_end
    }


def live(q: list[Volume], v: list[Volume]) -> set[tuple[int, int]]:
    idx = LiveIndex(enumerate(v))
    return {(i, j) for i, a in enumerate(q) for j in idx.search(a)}


def both(q: list[Volume], v: list[Volume]) -> set[tuple[int, int]]:
    b, lv = bulk(q, v), live(q, v)
    assert b == lv
    return b


def test_footprints_touching_at_an_edge_or_a_corner_conflict() -> None:
    q = [vol(square(0, 0, 1))]
    v = [vol(square(1, 0, 1)), vol(square(1, 1, 1)), vol(square(1.0001, 0, 1))]
    assert both(q, v) == {(0, 0), (0, 1)}


def test_windows_sharing_only_an_endpoint_conflict_and_a_gap_does_not() -> None:
    q = [vol(square(0, 0, 1), 0, H)]
    v = [vol(square(0, 0, 1), H, 2 * H), vol(square(0, 0, 1), H + 1, 2 * H)]
    assert both(q, v) == {(0, 0)}


def test_abutting_altitude_bands_conflict_and_separated_ones_do_not() -> None:
    q = [vol(square(0, 0, 1), lo=0, hi=100)]
    v = [
        vol(square(0, 0, 1), lo=100, hi=200),
        vol(square(0, 0, 1), lo=100.5, hi=200),
        vol(square(0, 0, 1), lo=-50, hi=-1),
    ]
    assert both(q, v) == {(0, 0)}


def test_long_routes_crossing_many_cells_meet_volumes_along_them_only() -> None:
    # one route within the grid (about 30 cells), one across hundreds (matched by brute force)
    for line in ([(0, 0), (1.5, 0.04), (3, 0)], [(0, 0), (10, 3), (20, 0)]):
        path = shapely.LineString(line)
        route = path.buffer(0.01)
        on = [shapely.Point(path.interpolate(f, normalized=True)) for f in np.linspace(0, 1, 25)]
        small = [vol(square(p.x - 0.025, p.y - 0.025, 0.05)) for p in on]
        small += [vol(square(p.x, p.y + 0.5, 0.05)) for p in on]  # beside it, no contact
        expect = {(0, j) for j in range(25)}
        assert both([vol(route)], small) == expect
        assert both(small, [vol(route)]) == {(j, 0) for _, j in expect}


def test_a_protected_site_that_stands_until_withdrawn_meets_any_later_window() -> None:
    site = Volume(square(0, 0, 1), "hospital", 0, FOREVER, -1e6, 1e6)
    late = vol(square(0.5, 0.5, 0.1), 10**9, 10**9 + H, 0, 50)
    assert both([late], [site]) == {(0, 0)}
    assert both([site], [late]) == {(0, 0)}


def test_windows_far_beyond_the_sort_keys_time_range_are_compared_exactly() -> None:
    # starts 2**40 s apart: more than the bits a sort key gives to time, so capped there
    far = 2**40
    v = [vol(square(0, 0, 1), far, far + H), vol(square(0, 0, 1), 0, H)]
    q = [
        vol(square(0.5, 0.5, 1), 0, 2**35),  # ends past the cap, still before the far start
        vol(square(0.5, 0.5, 1), far + H, far + 2 * H),  # shares the far window's end
        vol(square(0.5, 0.5, 1), 2 * H, 3 * H),
    ]
    assert both(q, v) == {(0, 1), (1, 0)}


def test_bbox_overlap_without_footprint_contact_is_not_a_conflict() -> None:
    ring = shapely.Point(0, 0).buffer(1).difference(shapely.Point(0, 0).buffer(0.5))
    inner = vol(square(-0.1, -0.1, 0.2))
    assert both([inner], [vol(ring)]) == set()


def test_live_index_forgets_removed_volumes() -> None:
    idx = LiveIndex()
    idx.add(7, vol(square(0, 0, 1)))
    idx.add(8, vol(square(0.5, 0, 1)))
    q = vol(square(0.2, 0.2, 0.1))
    assert idx.search(q) == [7]
    idx.remove(7)
    assert idx.search(q) == [] and len(idx) == 1


coord = st.floats(0, 10, allow_nan=False)
shape = st.tuples(coord, coord, st.floats(0.01, 3), st.integers(0, 3))
box4 = st.tuples(
    shape,
    st.integers(0, 20),
    st.integers(0, 8),
    st.integers(0, 5).map(lambda a: a * 50.0),
    st.integers(0, 4).map(lambda a: a * 50.0),
)


def make(spec: tuple[tuple[float, float, float, int], int, int, float, float]) -> Volume:
    (x, y, s, kind), t0, dt, lo, dh = spec
    g: shapely.Geometry
    if kind == 0:
        g = square(x, y, s)
    elif kind == 1:
        g = shapely.Point(x, y).buffer(s / 2, quad_segs=4)
    elif kind == 2:
        g = shapely.LineString([(x, y), (x + 4 * s, y + s), (x + 8 * s, y)]).buffer(0.02)
    else:
        g = shapely.Polygon([(x, y), (x + s, y), (x, y + s)])
    t1 = FOREVER if dt == 8 else t0 * 600 + 600 * 2**dt
    return Volume(g, "flight", t0 * 600, t1, lo, lo + dh)


@settings(max_examples=60, deadline=None)
@given(st.lists(box4, min_size=1, max_size=25), st.lists(box4, min_size=1, max_size=40))
def test_search_equals_brute_force(qs: list, vs: list) -> None:  # type: ignore[type-arg]
    q, v = [make(s) for s in qs], [make(s) for s in vs]
    assert bulk(q, v) == brute(q, v)
    assert live(q, v) == brute(q, v)


def test_threaded_search_equals_one_thread_with_shared_and_prepared_geometries() -> None:
    rng = np.random.default_rng(1)
    n = 20_000  # enough pairs for the exact test to be split over two threads too

    def boxes(k: int) -> tuple[Boxes, np.ndarray]:
        g = shapely.buffer(shapely.points(rng.uniform(0, 5, (k, 2))), rng.uniform(0.01, 0.2, k))
        t0 = rng.integers(0, 10**6, k)
        dt = 2 ** rng.integers(6, 18, k)  # many duration classes, shared out between threads
        a0 = rng.uniform(0, 500, k)
        return Boxes.of(g, t0, t0 + dt, a0, a0 + 300), g

    (qb, qg), (vb, vg) = boxes(n // 5), boxes(n)
    one = conflict_pairs(qb, qg, vb, vg, threads=1)
    tree = shapely.STRtree(vg)
    ti, tj = tree.query(qg, predicate="intersects")
    keep = qb.meets(ti, vb, tj)
    o = np.lexsort((tj[keep], ti[keep]))
    assert np.array_equal(one[0], ti[keep][o]) and np.array_equal(one[1], tj[keep][o])
    assert len(one[0]) > 10_000
    two = conflict_pairs(qb, qg, vb, vg, threads=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
    shapely.prepare(vg[:10])  # prepared footprints on the volume side too: same answer
    two = conflict_pairs(qb, qg, vb, vg, threads=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_live_index_under_churn_equals_brute_force() -> None:
    rng = np.random.default_rng(3)

    def rand() -> Volume:
        x, y, s = rng.uniform(0, 10), rng.uniform(0, 10), rng.uniform(0.01, 1)
        t0, dt, lo, dh = (int(rng.integers(0, n)) for n in (20, 9, 6, 5))
        return make(((x, y, s, int(rng.integers(0, 4))), t0, dt, lo * 50.0, dh * 50.0))

    idx, now = LiveIndex(), {}
    for k in range(3000):  # one at a time: several rebuilds on the way
        now[k] = rand()
        idx.add(k, now[k])
        if k % 3 == 2:  # a cancellation
            gone = int(rng.choice(list(now)))
            idx.remove(gone)
            del now[gone]
        if k % 5 == 0:  # an amendment under the same key
            key = int(rng.choice(list(now)))
            now[key] = rand()
            idx.add(key, now[key])
    assert len(idx) == len(now) and all(k in idx for k in now)
    for q in [rand() for _ in range(60)]:
        want = sorted(k for k, b in now.items() if brute([q], [b]))
        assert idx.search(q) == want
