"""What really happens in a scenario: fire along the line, weapons where they should
not be, drones, restrictions of the monitors. Columns of numpy arrays, no I/O.

Fire follows an inhomogeneous Poisson process per sector and hour: a night-heavy
daily cycle, a low baseline during the quiet period, and an escalation episode in
one or two sectors with more fire and heavier weapons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from truceline.domain.vocab import WeaponClass
from truceline.scenario.theatre import Theatre

__all__ = ["Episode", "Fire", "Sightings", "draw_episode", "draw_fire", "draw_sightings"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
StrArray = NDArray[np.str_]

FIRE_KINDS = np.array(["explosion", "burst", "shot", "projectile"])
_KIND_P = {False: [0.35, 0.30, 0.20, 0.15], True: [0.55, 0.20, 0.10, 0.15]}
HEAVY = np.array(
    [
        WeaponClass.MORTAR_ARTILLERY_LT100.value,
        WeaponClass.ARTILLERY_GE100.value,
        WeaponClass.TANK.value,
        WeaponClass.MLRS.value,
    ]
)
_HEAVY_P = {False: [0.75, 0.12, 0.10, 0.03], True: [0.40, 0.30, 0.15, 0.15]}
#: fire per sector and day in the quiet period; the episode multiplies it at its peak
QUIET_PER_DAY = 3.5
ESCALATION_FACTOR = 9.0
#: UTC hours with more fire (about 19:00 to 05:00 local time along the 2015 line)
NIGHT_HOURS = frozenset({17, 18, 19, 20, 21, 22, 23, 0, 1, 2})


@dataclass(frozen=True, slots=True)
class Episode:
    """The escalation: which line sectors, from which hour to which hour."""

    sectors: tuple[int, ...]
    start_h: int
    end_h: int


@dataclass(frozen=True, slots=True)
class Fire:
    """Fire events (truth): impact/fire position in metres, party that fired."""

    t: IntArray
    x: FloatArray
    y: FloatArray
    sector: IntArray
    kind: StrArray
    weapon_class: StrArray
    count: IntArray
    impact_side: IntArray  # party index of the area hit, -1 none
    fired_by: IntArray  # party index, -1 unknown
    escalation: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True, slots=True)
class Sightings:
    """Weapons present at a place on a day (truth); ``band`` is the band they sit in."""

    t: IntArray
    x: FloatArray
    y: FloatArray
    party: IntArray
    weapon_class: StrArray
    count: IntArray
    band: StrArray  # band id, "" outside any band

    def __len__(self) -> int:
        return len(self.t)


def draw_episode(th: Theatre, rng: np.random.Generator, days: int) -> Episode:
    """One or two neighbouring sectors of the middle of the line, in the middle of the run."""
    n = len(th.sectors)
    lo, hi = n // 4, max(n // 4 + 1, n - n // 4)
    first = int(rng.integers(lo, hi))
    width = 2 if n > 2 and rng.random() < 0.6 else 1
    secs = tuple(sorted({first, min(n - 1, first + 1)}))[:width]
    start_day = max(1, int(round(days * 0.45)))
    length = max(3, days // 4)
    return Episode(secs, start_day * 24, min(days, start_day + length) * 24)


def _rate(th: Theatre, ep: Episode, days: int) -> tuple[FloatArray, NDArray[np.bool_]]:
    hours = np.arange(days * 24)
    w = np.where(np.isin(hours % 24, list(NIGHT_HOURS)), 3.0, 0.6)
    w = w / w.mean()
    lam = np.tile(QUIET_PER_DAY / 24.0 * w, (len(th.sectors), 1))
    esc = np.zeros_like(lam, dtype=bool)
    span = max(1, ep.end_h - ep.start_h)
    phase = (hours - ep.start_h) / span
    ramp = np.where((phase >= 0) & (phase < 1), np.sin(np.pi * np.clip(phase, 0, 1)), 0.0)
    for s in ep.sectors:
        lam[s] *= 1.0 + (ESCALATION_FACTOR - 1.0) * ramp
        esc[s] = ramp > 0
    return lam, esc


def draw_fire(
    th: Theatre,
    rng: np.random.Generator,
    t0: int,
    days: int,
    ep: Episode,
    hot: FloatArray,
) -> Fire:
    """Fire events over ``days`` from ``t0`` (epoch seconds); three in four gather
    around the sectors' hotspots (``hot``: metres along each sector's stretch)."""
    lam, esc_mask = _rate(th, ep, days)
    n = rng.poisson(lam)
    sec, hour = np.nonzero(n)
    reps = n[sec, hour]
    sec, hour = np.repeat(sec, reps), np.repeat(hour, reps)
    esc = esc_mask[sec, hour]
    m = len(sec)
    t = t0 + hour * 3600 + rng.integers(0, 3600, m)
    u = rng.random(m)
    kind = np.where(
        esc,
        FIRE_KINDS[np.searchsorted(np.cumsum(_KIND_P[True]), u, side="right").clip(0, 3)],
        FIRE_KINDS[np.searchsorted(np.cumsum(_KIND_P[False]), u, side="right").clip(0, 3)],
    )
    small = np.isin(kind, ["burst", "shot"])
    v = rng.random(m)
    heavy = np.where(
        esc,
        HEAVY[np.searchsorted(np.cumsum(_HEAVY_P[True]), v, side="right").clip(0, 3)],
        HEAVY[np.searchsorted(np.cumsum(_HEAVY_P[False]), v, side="right").clip(0, 3)],
    )
    wc = np.where(small, WeaponClass.SMALL_ARMS.value, heavy)
    count = 1 + rng.poisson(np.where(small, 2.0, np.where(esc, 6.0, 2.0)))
    count = np.where(wc == WeaponClass.MLRS.value, count + rng.poisson(10.0, m), count)
    sd = np.where(small, 800.0, 3000.0)
    x = np.empty(m)
    y = np.empty(m)
    off = rng.normal(0.0, 1.0, m) * sd
    which = (rng.random(m) < 0.4).astype(np.int64)
    along = np.where(rng.random(m) < 0.75, hot[sec, which] + rng.normal(0.0, 2500.0, m), np.nan)
    for s in np.unique(sec):
        k = sec == s
        a = along[k]
        length = th.part(int(s)).length
        a = np.where(np.isnan(a), rng.uniform(0.0, length, len(a)), a)
        x[k], y[k] = th.near_line(rng, int(s), off[k], a)
    side = th.side_of(x, y)
    other = np.where(side >= 0, (side + 1) % max(1, len(th.parties)), -1)
    fired_by = np.where(small, np.where(rng.random(m) < 0.5, side, other), other)
    order = np.argsort(t, kind="stable")
    return Fire(
        t=t[order],
        x=x[order],
        y=y[order],
        sector=sec[order].astype(np.int64),
        kind=kind[order],
        weapon_class=wc[order],
        count=count[order].astype(np.int64),
        impact_side=side[order],
        fired_by=fired_by[order].astype(np.int64),
        escalation=esc[order],
    )


#: weapon classes whose presence in their band is the typical violation
_BAND_CLASSES = (
    WeaponClass.ARTILLERY_GE100.value,
    WeaponClass.MLRS.value,
    WeaponClass.TANK.value,
    WeaponClass.MORTAR_ARTILLERY_LT100.value,
)


def draw_sightings(th: Theatre, rng: np.random.Generator, t0: int, days: int) -> Sightings:
    """Heavy weapons inside withdrawal bands, on every party's side, on random days."""
    cols: dict[str, list[object]] = {k: [] for k in ("t", "x", "y", "party", "wc", "n", "band")}
    for pi, p in enumerate(th.parties):
        bands = [b for b in th.bands if b.party == p and b.weapon_class in _BAND_CLASSES]
        if not bands:
            continue
        k = 4 + int(rng.poisson(2.0))
        pick = rng.integers(0, len(bands), k)
        for bi in np.unique(pick):
            b = bands[int(bi)]
            j = int((pick == bi).sum())
            lim = b.geom.intersection(th.line.buffer(min(b.band_km, 40.0) * 1000.0))
            x, y = th.inside(rng, lim, j, min_line_m=min(3000.0, b.band_km * 300.0))
            day = rng.integers(0, days, j)
            cols["t"].extend(t0 + day * 86400 + rng.integers(7 * 3600, 14 * 3600, j))
            cols["x"].extend(x)
            cols["y"].extend(y)
            cols["party"].extend([pi] * j)
            cols["wc"].extend([b.weapon_class] * j)
            cols["n"].extend(1 + rng.poisson(2.0, j))
            cols["band"].extend([b.id] * j)
    order = np.argsort(np.asarray(cols["t"], dtype=np.int64), kind="stable")
    return Sightings(
        t=np.asarray(cols["t"], dtype=np.int64)[order],
        x=np.asarray(cols["x"], dtype=np.float64)[order],
        y=np.asarray(cols["y"], dtype=np.float64)[order],
        party=np.asarray(cols["party"], dtype=np.int64)[order],
        weapon_class=np.asarray(cols["wc"], dtype=str)[order],
        count=np.asarray(cols["n"], dtype=np.int64)[order],
        band=np.asarray(cols["band"], dtype=str)[order],
    )
