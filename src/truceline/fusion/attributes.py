"""What an incident says, from its member observations (pure core, per-label arrays).

* location: the inverse-variance weighted mean of the member points (each
  point's 95 % ``radius`` taken as 1.96 sigma), with a 95 % radius that never
  claims more than the members support: the larger of the combined radius and
  the farthest member point from the fused centre (members that disagree by
  3 km do not make a 100 m incident);
* time: the median of the member times; ``t_start``/``t_end`` the earliest and
  latest member time widened by its uncertainty;
* kind: the most reported kind, ties to the most specific (``KIND_RANK``);
  denials never give the kind unless nothing else reports the incident;
* weapon class: the most reported one named, ties to the heaviest; count: the
  largest count one report gives (reports of one event are not added up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from truceline.domain.vocab import ObservationKind as K
from truceline.domain.vocab import WeaponClass as W

__all__ = ["KIND_RANK", "Fused", "factorize", "fuse_attributes"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: most specific first
KIND_RANK: tuple[str, ...] = tuple(
    k.value
    for k in (K.WEAPON_SIGHTING, K.FOREIGN_UNIT, K.EXPLOSION, K.PROJECTILE, K.BURST, K.SHOT,
              K.FLIGHT, K.DRONE, K.MOVEMENT, K.CIVILIAN_CASUALTY, K.CASUALTY,
              K.CIVILIAN_DAMAGE, K.DAMAGE, K.ACCESS_DENIED, K.ACCESS_DELAYED,
              K.ACCESS_CONDITIONAL, K.UAV_JAMMING, K.RESTRICTION, K.INSPECTION, K.OTHER,
              K.DENIAL)
)  # fmt: skip
#: heaviest first
WEAPON_RANK: tuple[str, ...] = tuple(
    w.value
    for w in (W.MLRS_LONG_TBM, W.MLRS, W.ARTILLERY_GE100, W.AIRCRAFT, W.TANK,
              W.MORTAR_ARTILLERY_LT100, W.UAV, W.SMALL_ARMS)
)  # fmt: skip
MIN_RADIUS_M = 10.0
Z95 = 1.96


@dataclass(frozen=True, slots=True)
class Fused:
    x: F64
    y: F64
    radius_m: F64
    t: I64
    t_start: I64
    t_end: I64
    kind: NDArray[np.object_]
    weapon_class: NDArray[np.object_]  # None where no report names one
    count: I64
    n_observations: I64


def factorize(values: NDArray[np.object_]) -> tuple[list[str | None], NDArray[np.int64]]:
    """The distinct values (strings, ``None`` last if any) in ascending order and the
    index of each value among them: a dictionary encoding in Arrow (C++), not a sort of
    the strings themselves."""
    enc = pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True)
    enc = enc.dictionary_encode()
    distinct = enc.dictionary.to_pylist()
    order = sorted(range(len(distinct)), key=distinct.__getitem__)
    rank = np.empty(len(distinct) + 1, np.int64)
    rank[order] = np.arange(len(distinct))
    rank[-1] = len(distinct)  # null
    idx = enc.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    has_null = enc.null_count > 0
    names: list[str | None] = [distinct[k] for k in order] + ([None] if has_null else [])
    return names, rank[np.asarray(idx, np.int64)]


def _mode_by_rank(labels: I64, n: int, values: NDArray[np.object_], rank: tuple[str, ...]) -> I64:
    """Per label, the index into ``rank`` of the most frequent value (ties: lowest index);
    -1 where no member has a ranked value."""
    lookup = {v: k for k, v in enumerate(rank)}
    # dictionary-encode (Arrow, in C++) rather than sort the strings
    enc = pa.array(np.asarray(values, dtype=object), pa.string(), from_pandas=True)
    enc = enc.dictionary_encode()
    distinct = enc.dictionary.to_pylist()
    idx = enc.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    table = np.array([lookup.get(v, -1) for v in distinct] + [-1], np.int64)
    codes = table[np.asarray(idx, np.int64)]
    ok = codes >= 0
    m = len(rank)
    tally = np.bincount(labels[ok] * m + codes[ok], minlength=n * m).reshape(n, m)
    best = np.argmax(tally, axis=1)  # argmax: first of the ties = most specific
    return np.where(tally.max(axis=1) > 0, best, -1)


def fuse_attributes(
    labels: I64,
    n: int,
    x: F64,
    y: F64,
    radius_m: F64,
    t: I64,
    t_unc_s: F64,
    kind: NDArray[np.object_],
    weapon_class: NDArray[np.object_],
    count: I64,
) -> Fused:
    """Attributes of incidents ``0..n-1`` from members with incident ``labels``."""
    r = np.maximum(np.nan_to_num(radius_m, nan=MIN_RADIUS_M), MIN_RADIUS_M)
    w = (Z95 / r) ** 2
    sw = np.bincount(labels, w, n)
    cx = np.bincount(labels, w * x, n) / sw
    cy = np.bincount(labels, w * y, n) / sw
    combined = Z95 / np.sqrt(sw)
    far = np.zeros(n)
    np.maximum.at(far, labels, np.hypot(x - cx[labels], y - cy[labels]))
    radius = np.maximum(combined, far)
    o = np.lexsort((t, labels))
    counts = np.bincount(labels, minlength=n)
    starts = np.cumsum(counts) - counts
    t_med = t[o][starts + (counts - 1) // 2]
    tu = np.nan_to_num(t_unc_s, nan=0.0)
    lo = np.full(n, np.iinfo(np.int64).max, np.int64)
    hi = np.full(n, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(lo, labels, np.floor(t - tu).astype(np.int64))
    np.maximum.at(hi, labels, np.ceil(t + tu).astype(np.int64))
    k = _mode_by_rank(labels, n, np.where(kind == K.DENIAL.value, "", kind), KIND_RANK)
    k_any = _mode_by_rank(labels, n, kind, KIND_RANK)
    kinds = np.array(KIND_RANK + (K.OTHER.value,), dtype=object)
    kind_out = np.where(k >= 0, kinds[k], kinds[np.where(k_any >= 0, k_any, -1)])
    wc = _mode_by_rank(labels, n, weapon_class, WEAPON_RANK)
    weapons = np.array(WEAPON_RANK + (None,), dtype=object)
    cmax = np.zeros(n, np.int64)
    np.maximum.at(cmax, labels, np.asarray(count, np.int64))
    return Fused(
        cx, cy, radius, t_med.astype(np.int64), lo, hi, kind_out, weapons[wc],
        np.maximum(cmax, 1), counts.astype(np.int64),
    )  # fmt: skip
