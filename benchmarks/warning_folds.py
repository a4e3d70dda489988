"""Scores candidate count models on the training folds of the alert series.

The choice between candidates is made here, on days before the test period only:
each fold fits on origins whose target window ends by its end (2022-12-31,
2023-04-30, 2023-08-31) and scores the next 120 origins, with the same functions
the backtest uses. The rule: the best fold mean of the CRPS skill at 1 and 7 days
(against the better trailing-mean baseline of those origins) on both alert sets,
without a lower share of oblasts better.

    python benchmarks/warning_folds.py [--data ../shared/data/real] [--out FILE.json]

Candidates: ``daily`` (the count model on daily counts only, as before the
overnight inputs), ``overnight`` (the model with the series' overnight counts:
alerts still active at each local midnight), and ``late-HH`` (the same two
inputs made instead of the alert starts from HH:00 local time to midnight).
Prints one row per data set, candidate, fold and horizon, then the fold means
and the candidate the rule picks.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from truceline.warning import models
from truceline.warning.predictive import Predictive
from truceline.warning.readers import read_air_raid
from truceline.warning.series import DailySeries, from_events, local_seconds

FILES = {
    "official": "air_raid_alerts_official_2022-03-15_2024-04-23.csv",
    "volunteer": "air_raid_alerts_volunteer_2022-02-25_2024-10-10.csv",
}
FOLDS = (date(2022, 12, 31), date(2023, 4, 30), date(2023, 8, 31))
ORIGINS = 120
HORIZONS = (1, 7)


def score_fold(
    counts: np.ndarray, late: np.ndarray | None, wd: int, te: int, h: int
) -> dict[str, float]:
    """Skill of the count model against the better trailing mean on the fold's origins,
    and the share of units where it beats both trailing-mean baselines."""
    origins = np.arange(te, te + ORIGINS)
    y = models.future_totals(counts, h)[:, origins]
    trail = models.baseline_mean(counts, "trailing28", h)[:, origins]
    base = {
        "poisson": Predictive.of(trail).crps(y),
        "nb": Predictive.of(trail, models.fit_baseline_alpha(counts, "trailing28", h, te)).crps(y),
    }
    fitted = models.fit_count_model(counts, wd, h, te, late)
    crps = fitted.predict(counts, wd, late)[:, origins].crps(y)
    best = min(float(v.mean()) for v in base.values())
    per_unit = np.minimum(base["poisson"].mean(axis=1), base["nb"].mean(axis=1))
    return {
        "skill": 1.0 - float(crps.mean()) / best,
        "units_better": float((crps.mean(axis=1) < per_unit).mean()),
    }


def late_starts(path: Path, s: DailySeries, hour: int) -> np.ndarray:
    """``out[u, d]``: alert starts of unit ``u`` on local day ``d`` from ``hour``:00
    local time to midnight."""
    t = pacsv.read_csv(path)
    unit_col = "oblast" if "oblast" in t.column_names else "region"
    units = np.asarray(t.column(unit_col).fill_null("").to_pylist(), dtype=object)
    secs = local_seconds(t.column("started_at").cast(pa.int64()).to_numpy(), s.tz)
    late = np.mod(secs, 86_400) >= hour * 3600
    out = from_events(
        units[late],
        np.floor_divide(secs[late], 86_400),
        tz=s.tz,
        start=s.start,
        end=s.day(s.n_days - 1),
        unit_order=s.units,
    )
    return np.asarray(out.counts, dtype=np.float64)


def choose(rows: list[dict[str, object]]) -> str:
    """The candidate with the best mean of the fold-mean skills (both sets, 1 and 7
    days) among those whose fold-mean share of units better is nowhere lower than
    the daily model's; ``daily`` when none beats it."""

    def mean(cand: str, key: str, data: str, h: int) -> float:
        sel = [
            float(str(r[key]))
            for r in rows
            if r["candidate"] == cand and r["data"] == data and r["h"] == h
        ]
        return float(np.mean(sel))

    cells = [(d, h) for d in FILES for h in HORIZONS]
    best, best_score = "daily", np.mean([mean("daily", "skill", d, h) for d, h in cells])
    for cand in dict.fromkeys(str(r["candidate"]) for r in rows):
        shares_ok = all(
            mean(cand, "units_better", d, h) >= mean("daily", "units_better", d, h) - 1e-9
            for d, h in cells
        )
        score = np.mean([mean(cand, "skill", d, h) for d, h in cells])
        if shares_ok and score > best_score:
            best, best_score = cand, score
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/real"))
    ap.add_argument("--late-hours", default="18,21", help="candidates' late-day start hours")
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    hours = [int(x) for x in args.late_hours.split(",") if x]
    rows = []
    for name, file in FILES.items():
        s = read_air_raid(args.data / file)
        c = s.counts.astype(np.float64)
        for cand in ("daily", "overnight", *(f"late-{hh:02d}" for hh in hours)):
            if cand == "daily":
                late = None
            elif cand == "overnight":
                late = np.asarray(s.overnight, dtype=np.float64)
            else:
                late = late_starts(args.data / file, s, int(cand.split("-")[1]))
            for fold in FOLDS:
                for h in HORIZONS:
                    t0 = time.process_time()
                    r = score_fold(c, late, s.start.weekday(), s.index_of(fold), h)
                    row = {"data": name, "candidate": cand, "fold": str(fold), "h": h, **r}
                    rows.append(row)
                    print(
                        f"{name:9} {cand:8} {fold} h={h}: skill {r['skill']:+.4f}"
                        f"  units+ {r['units_better']:.2f}"
                        f"  ({time.process_time() - t0:.1f} s CPU)",
                        flush=True,
                    )
    print("\nfold means (skill h=1, h=7; units better h=1, h=7):")
    for name in FILES:
        for cand in dict.fromkeys(r["candidate"] for r in rows):
            sel = [r for r in rows if r["data"] == name and r["candidate"] == cand]
            m = {
                (k, h): float(np.mean([r[k] for r in sel if r["h"] == h]))
                for k in ("skill", "units_better")
                for h in HORIZONS
            }
            print(
                f"{name:9} {cand:8} {100 * m['skill', 1]:+.2f} % {100 * m['skill', 7]:+.2f} %"
                f"  {m['units_better', 1]:.2f} {m['units_better', 7]:.2f}"
            )
    print(f"\nchosen by the rule: {choose(rows)}")
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
