"""What the parties and open sources say: allegations that blame the other side,
a few denials, a few claims with nothing behind them, and late, coarse news."""

from __future__ import annotations

import numpy as np

from truceline.domain.vocab import WeaponClass
from truceline.scenario.events import Fire
from truceline.scenario.observe import Block, block, fire_words
from truceline.scenario.roster import Roster
from truceline.scenario.theatre import Theatre

__all__ = ["observe_open_sources", "observe_parties"]

_EXAGGERATE = {
    WeaponClass.MORTAR_ARTILLERY_LT100.value: WeaponClass.ARTILLERY_GE100.value,
    WeaponClass.ARTILLERY_GE100.value: WeaponClass.MLRS.value,
}


def observe_parties(
    th: Theatre, rng: np.random.Generator, ro: Roster, f: Fire, t0: int, days: int
) -> list[Block]:
    """Each party alleges heavy fire that hit its side and names the other party;
    the accused party now and then denies; a few allegations have no event behind them."""
    out: list[Block] = []
    heavy = (f.weapon_class != WeaponClass.SMALL_ARMS.value) | (f.count >= 4)
    for pi, src in enumerate(ro.parties):
        other = th.parties[(pi + 1) % len(th.parties)]
        p = np.where(f.escalation, 0.75, 0.45)
        idx = np.flatnonzero((f.impact_side == pi) & heavy & (rng.random(len(f)) < p))
        wc = np.array(
            [_EXAGGERATE.get(w, w) if rng.random() < 0.3 else w for w in f.weapon_class[idx]]
        )
        n = len(idx)
        x = f.x[idx] + rng.normal(0, 2000.0, n)
        y = f.y[idx] + rng.normal(0, 2000.0, n)
        t = f.t[idx] + np.round(rng.normal(0, 1200.0, n)).astype(np.int64)
        cnt = np.ceil(f.count[idx] * rng.uniform(1.0, 2.0, n)).astype(np.int64)
        # claims with no event behind them: heavy fire "on our positions"
        k = 2 + int(rng.integers(0, 3))
        s = rng.integers(0, len(th.sectors), k)
        fx, fy = np.empty(k), np.empty(k)
        for j in range(k):
            fx[j : j + 1], fy[j : j + 1] = th.near_line(rng, int(s[j]), rng.uniform(1e3, 4e3, 1))
        mine = th.side_of(fx, fy) == pi
        fx, fy = fx[mine], fy[mine]
        ft = t0 + rng.integers(0, days * 86400, len(fx))
        out.append(
            block(
                th,
                src,
                np.concatenate([t, ft]),
                t_unc_s=3600.0,
                kind=np.concatenate([f.kind[idx], np.full(len(fx), "explosion")]),
                count=np.concatenate([cnt, rng.integers(5, 20, len(fx))]),
                credibility=4,
                x=np.concatenate([x, fx]),
                y=np.concatenate([y, fy]),
                radius_m=np.full(n + len(fx), 5000.0),
                weapon_class=np.concatenate(
                    [wc, np.full(len(fx), WeaponClass.ARTILLERY_GE100.value)]
                ).astype(str),
                actor=[other] * (n + len(fx)),
                description=[f"alleges fire by {other} on its positions"] * (n + len(fx)),
                event=np.concatenate([idx, np.full(len(fx), -1)]),
            )
        )
        out.append(_denials(th, rng, ro, pi, x, y, t, idx))
    return out


def _denials(
    th: Theatre,
    rng: np.random.Generator,
    ro: Roster,
    accuser: int,
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    idx: np.ndarray,
) -> Block:
    """The accused party denies about one allegation in eight."""
    accused = (accuser + 1) % len(th.parties)
    j = np.flatnonzero(rng.random(len(idx)) < 0.125)
    who = th.parties[accused]
    return block(
        th,
        ro.parties[accused],
        t[j] + rng.integers(3600, 6 * 3600, len(j)),
        t_unc_s=3600.0,
        kind=np.full(len(j), "denial"),
        count=np.ones(len(j), dtype=np.int64),
        credibility=4,
        x=x[j],
        y=y[j],
        radius_m=np.full(len(j), 5000.0),
        actor=[who] * len(j),
        description=[f"{who} denies the fire alleged by {th.parties[accuser]}"] * len(j),
        event=idx[j],
    )


def observe_open_sources(th: Theatre, rng: np.random.Generator, ro: Roster, f: Fire) -> list[Block]:
    """A wire agency reports the bigger events late and coarsely; two outlets repeat
    its stories word for word (one independence group); a channel posts on its own."""
    big = (f.count >= 6) | (f.escalation & (f.weapon_class != WeaponClass.SMALL_ARMS.value))
    idx = np.flatnonzero(big & (rng.random(len(f)) < 0.25))
    n = len(idx)
    wx = f.x[idx] + rng.normal(0, 4000.0, n)
    wy = f.y[idx] + rng.normal(0, 4000.0, n)
    wt = f.t[idx] + np.round(rng.normal(0, 3600.0, n)).astype(np.int64)
    words = fire_words(f, idx, "reports of")

    def story(src_i: int | None, keep: np.ndarray) -> Block:
        src = ro.wire if src_i is None else ro.outlets[src_i]
        return block(
            th,
            src,
            wt[keep],
            t_unc_s=4 * 3600.0,
            kind=f.kind[idx][keep],
            count=f.count[idx][keep],
            credibility=5,
            x=wx[keep],
            y=wy[keep],
            radius_m=np.full(int(keep.sum()), 10_000.0),
            description=[w for w, k in zip(words, keep, strict=True) if k],
            event=idx[keep],
        )

    out = [story(None, np.ones(n, dtype=bool))]
    out += [story(i, rng.random(n) < 0.7) for i in range(len(ro.outlets))]
    c = np.flatnonzero(big & (rng.random(len(f)) < 0.25))
    blame = np.where(rng.random(len(c)) < 0.7, f.fired_by[c], (f.fired_by[c] + 1) % 2)
    out.append(
        block(
            th,
            ro.channel,
            f.t[c] + np.round(rng.normal(0, 1800.0, len(c))).astype(np.int64),
            t_unc_s=2 * 3600.0,
            kind=f.kind[c],
            count=f.count[c],
            credibility=6,
            x=f.x[c] + rng.normal(0, 3000.0, len(c)),
            y=f.y[c] + rng.normal(0, 3000.0, len(c)),
            radius_m=np.full(len(c), 8000.0),
            actor=[th.parties[b] if 0 <= b < len(th.parties) else None for b in blame],
            description=fire_words(f, c, "channel posts"),
            event=c,
        )
    )
    return out
