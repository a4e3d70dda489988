"""Incremental fusion: new observations join, found or merge incidents (pure core).

The incidents of a store are the connected components of the space-time
neighbour graph of all its observations (``fusion.cluster``). Adding
observations only adds edges, so components only grow and merge, never split:
the partition after any sequence of batches equals the partition of all
observations clustered at once, whatever the order of the batches.

So an increment needs only the *fused* observations within reach of the new
ones (``old``, each with its incident id): the components of the graph on
``old`` + ``new``, with the members of each old incident chained together
(they are connected through members that may lie out of reach), decide

* a new observation with no old neighbour in its component founds an incident;
* one old incident in the component: the new observations join it;
* several: they merge into the **oldest** (the smallest incident id, ids being
  assigned in creation order), the others record ``merged_into`` it.

The neighbour relation must not depend on how the data arrived: distances are
measured in a projection fixed by the first batch, so pairs whose projected
distance is within the projection's error of their threshold are settled by an
exact (geodesic) ``distance`` when one is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from truceline.fusion.cluster import components, neighbour_pairs

__all__ = ["Increment", "Points", "increment", "reach"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Points:
    """Observations in metric coordinates; ``key`` is an observation id (new points)
    or the incident id (old points)."""

    x: F64
    y: F64
    t: I64
    r: F64  # location uncertainty that widens the reach (metres, >= 0)
    tu: F64  # time uncertainty that widens the reach (seconds, >= 0)
    key: I64

    def __len__(self) -> int:
        return len(self.x)

    @staticmethod
    def concat(a: Points, b: Points) -> Points:
        return Points(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in _FIELDS))


_FIELDS = ("x", "y", "t", "r", "tu", "key")


@dataclass(frozen=True, slots=True)
class Increment:
    """``incident`` per new point: an existing incident id (> 0) or ``-k`` for the
    k-th new incident (k = 1.., numbered by the smallest new observation id in it).
    ``merged`` maps each absorbed incident id to its survivor; ``touched`` lists the
    existing incidents that gained members (survivors included)."""

    incident: I64
    n_new: int
    merged: dict[int, int]
    touched: list[int]


def reach(eps: float, window: float, r_max: float, tu_max: float) -> tuple[float, float]:
    """How far (metres, seconds) a new observation can link to an old one."""
    return eps + 2.0 * r_max, window + 2.0 * tu_max


Distance = Callable[[I64, I64], F64]


def increment(
    old: Points,
    new: Points,
    *,
    eps: float,
    window: float,
    distance: Distance | None = None,
    margin: float = 0.0,
) -> Increment:
    """Assign the ``new`` points given the fused ``old`` points within their reach.

    With ``distance`` (metres between points ``a`` and ``b`` of old + new, e.g.
    geodesic), every pair whose projected distance lies within ``margin`` of its
    threshold is settled by ``distance``: when ``margin`` bounds the projection's
    error, the partition no longer depends on the projection (nor on its centre).
    """
    n_old, n_new = len(old), len(new)
    if n_new == 0:
        return Increment(np.zeros(0, np.int64), 0, {}, [])
    pts = Points.concat(old, new)
    order, (i, j, unsure) = neighbour_pairs(
        pts.x, pts.y, pts.t, eps=eps, window=window, r=pts.r, tu=pts.tu,
        margin=margin if distance is not None else 0.0,
    )  # fmt: skip
    a, b = order[i], order[j]
    if unsure.any():
        u = np.flatnonzero(unsure)
        if distance is None:
            d = np.hypot(pts.x[a[u]] - pts.x[b[u]], pts.y[a[u]] - pts.y[b[u]])
        else:
            d = distance(a[u], b[u])
        ok = np.ones(len(a), bool)
        ok[u] = d <= eps + pts.r[a[u]] + pts.r[b[u]]
        a, b = a[ok], b[ok]
    # chain the members of each old incident
    o = np.argsort(old.key, kind="stable")
    same = old.key[o][1:] == old.key[o][:-1]
    a = np.concatenate([a, o[:-1][same]])
    b = np.concatenate([b, o[1:][same]])
    n = n_old + n_new
    comp = components(n, a, b)
    big = np.iinfo(np.int64).max
    survivor = np.full(int(comp.max()) + 1, big, np.int64)
    np.minimum.at(survivor, comp[:n_old], old.key)
    merged: dict[int, int] = {}
    if n_old:
        s_old = survivor[comp[:n_old]]
        m = s_old != old.key
        pairs = np.unique(np.column_stack([old.key[m], s_old[m]]), axis=0)
        merged = {int(k): int(v) for k, v in pairs}
    cn = comp[n_old:]
    inc = survivor[cn]
    fresh = inc == big
    # new incidents numbered by their smallest new observation id
    first = np.full(len(survivor), big, np.int64)
    np.minimum.at(first, cn[fresh], new.key[fresh])
    starters = np.flatnonzero(first != big)
    rank = np.empty(len(survivor), np.int64)
    rank[starters[np.argsort(first[starters], kind="stable")]] = np.arange(len(starters))
    inc[fresh] = -(rank[cn[fresh]] + 1)
    touched = sorted({int(k) for k in inc[~fresh]} | set(merged.values()))
    return Increment(inc, len(starters), merged, touched)
