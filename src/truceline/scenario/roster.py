"""The scenario's sources: who reports, from where, graded how, in which independence group.

One observation post per sector of the line (two cameras sharing the post's group),
two acoustic arrays per sector (one on each side, each its own group), monitor patrol
teams, two UAV analysis cells, each party's allegation channel, and open sources (a
wire agency and two outlets that repeat its stories, so all three share one group,
plus an independent channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from truceline.domain.vocab import SourceType
from truceline.scenario.theatre import Theatre

__all__ = ["Roster", "SourceSpec", "build_roster"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source of the scenario, as it would be registered."""

    id: str
    type: str
    name: str
    group: str
    reliability: str  # Admiralty A-F
    party: str | None = None
    x: float = float("nan")  # position (metres) of a fixed post
    y: float = float("nan")
    sector: int = -1  # the line sector it watches (-1: none in particular)


@dataclass(frozen=True, slots=True)
class Roster:
    cameras: tuple[SourceSpec, ...]
    acoustic: tuple[SourceSpec, ...]
    patrols: tuple[SourceSpec, ...]
    uavs: tuple[SourceSpec, ...]
    parties: tuple[SourceSpec, ...]
    wire: SourceSpec
    outlets: tuple[SourceSpec, ...]
    channel: SourceSpec
    hotspots: np.ndarray  # (sector, 2): metres along each sector's stretch of line

    def all(self) -> tuple[SourceSpec, ...]:
        return (
            *self.cameras,
            *self.acoustic,
            *self.patrols,
            *self.uavs,
            *self.parties,
            self.wire,
            *self.outlets,
            self.channel,
        )


def draw_hotspots(th: Theatre, rng: np.random.Generator) -> np.ndarray:
    """Two hotspots per sector: where along its stretch of line (metres) fire gathers."""
    lengths = np.array([th.part(i).length for i in range(len(th.sectors))])
    hot = rng.uniform(0.15, 0.85, (len(lengths), 2)) * lengths[:, None]
    return np.asarray(hot, dtype=np.float64)


def _posts(
    th: Theatre,
    rng: np.random.Generator,
    hot: np.ndarray,
    dist_m: tuple[float, float],
    spread_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Two positions per sector near its first hotspot, one on each side of the line."""
    n = len(th.sectors)
    xs = np.empty((n, 2))
    ys = np.empty((n, 2))
    for i in range(n):
        d = rng.uniform(*dist_m, 2) * np.array([1.0, -1.0])
        along = hot[i, 0] + rng.uniform(-spread_m, spread_m, 2)
        xs[i], ys[i] = th.near_line(rng, i, d, along)
    return xs, ys


def build_roster(th: Theatre, rng: np.random.Generator) -> Roster:
    """The sources of a scenario on ``th``; positions drawn from ``rng``."""
    cams: list[SourceSpec] = []
    acs: list[SourceSpec] = []
    hot = draw_hotspots(th, rng)
    cx, cy = _posts(th, rng, hot, (1500.0, 3000.0), 1000.0)
    ax, ay = _posts(th, rng, hot, (4000.0, 8000.0), 5000.0)
    for i, (sid, _g) in enumerate(th.sectors):
        k = i % 2  # alternate the side the observation post stands on
        for c in (1, 2):
            cams.append(
                SourceSpec(
                    f"op-{sid}-cam{c}",
                    SourceType.CAMERA.value,
                    f"observation post {sid}, camera {c}",
                    f"op-{sid}",
                    "B",
                    x=float(cx[i, k]),
                    y=float(cy[i, k]),
                    sector=i,
                )
            )
        for a in (0, 1):
            acs.append(
                SourceSpec(
                    f"acoustic-{sid}-{a + 1}",
                    SourceType.ACOUSTIC.value,
                    f"acoustic array {a + 1} of sector {sid}",
                    f"acoustic-{sid}-{a + 1}",
                    "B",
                    x=float(ax[i, a]),
                    y=float(ay[i, a]),
                    sector=i,
                )
            )
    n_patrols = max(1, (len(th.sectors) + 1) // 2)
    patrols = tuple(
        SourceSpec(
            f"patrol-{k + 1:02d}",
            SourceType.MONITOR.value,
            f"monitoring team {k + 1}",
            f"patrol-{k + 1:02d}",
            "A",
        )
        for k in range(n_patrols)
    )
    uavs = (
        SourceSpec("uav-mini", SourceType.UAV.value, "mini-UAV imagery analysis", "uav-mini", "B"),
        SourceSpec(
            "uav-long", SourceType.UAV.value, "long-range UAV imagery analysis", "uav-long", "B"
        ),
    )
    parties = tuple(
        SourceSpec(
            f"party-{p}",
            SourceType.PARTY.value,
            f"allegations filed by party {p}",
            f"party-{p}",
            "D",
            party=p,
        )
        for p in th.parties
    )
    wire = SourceSpec("wire-agency", SourceType.OSINT.value, "news wire agency", "wire-1", "C")
    outlets = tuple(
        SourceSpec(
            f"outlet-{k}", SourceType.OSINT.value, f"news outlet {k} (wire stories)", "wire-1", "C"
        )
        for k in (1, 2)
    )
    channel = SourceSpec(
        "channel-1", SourceType.OSINT.value, "open messaging channel", "channel-1", "E"
    )
    return Roster(tuple(cams), tuple(acs), patrols, uavs, parties, wire, outlets, channel, hot)
