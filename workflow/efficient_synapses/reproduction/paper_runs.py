"""Which networks the paper-settings runs train, read off the published Figure 2 curves.

The as-published evidence (docs/reproduction.md) trains, at paper settings:

* Figure 2 across its transitions (``transition_columns``): for each ρ and noise setting,
  every other column of the published grid (half decades, log10 c = -4, -3.5, ...) whose
  published accuracy lies between 15 % and 95 %, seed 0;
* the seed spread (``crossing_columns``): seeds 1 and 2 at the two of those columns
  nearest the published 90 % and 50 % crossings of each curve.

The selection is made from the published arrays alone, before any run, by this module;
the profiles under ``profiles/experiments/as-published-*`` hold its output, and a test
keeps the two the same. ``python -m efficient_synapses.reproduction.paper_runs <published dir>``
prints the ``sweep.networks`` entries of each.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import pandas as pd

from ..data.published import PUBLISHED_RHOS, fig23_table
from .table import crossing_log10

PUBLISHED_GRID = {"start": -4.0, "step": 0.25, "count": 30}
# Published accuracy between these (fractions): the curve's transition.
TRANSITION_ACCURACY = (0.15, 0.95)
# Every this many columns of the published grid (2: half decades).
COLUMN_STRIDE = 2
CROSSING_LEVELS = (0.9, 0.5)
NOISES = ("heterogeneous", "homogeneous")


def _curve(published: pd.DataFrame, rho: str, noise: str) -> pd.DataFrame:
    curve = published[(published["rho"] == rho) & (published["noise"] == noise)]
    return curve.sort_values("log10_c").reset_index(drop=True)


def transition_columns(
    published: pd.DataFrame,
    accuracy_range: tuple[float, float] = TRANSITION_ACCURACY,
    stride: int = COLUMN_STRIDE,
) -> dict[tuple[str, str], list[float]]:
    """Per (ρ, noise): log10 c of every ``stride``-th published column (from the first)
    whose published accuracy lies within ``accuracy_range`` (inclusive)."""
    low, high = accuracy_range
    out = {}
    for rho in PUBLISHED_RHOS:
        for noise in NOISES:
            curve = _curve(published, rho, noise).iloc[::stride]
            inside = curve[curve["test_accuracy_sampled"].between(low, high)]
            out[(rho, noise)] = [round(float(v), 6) for v in inside["log10_c"]]
    return out


def crossing_columns(
    published: pd.DataFrame,
    columns: dict[tuple[str, str], list[float]],
    levels: Sequence[float] = CROSSING_LEVELS,
) -> dict[tuple[str, str], list[float]]:
    """Per (ρ, noise): of ``columns``, the one nearest each published crossing of
    ``levels`` (log-interpolated; ties go to the smaller c), without repeats."""
    out = {}
    for (rho, noise), candidates in columns.items():
        curve = _curve(published, rho, noise)
        chosen = []
        for level in levels:
            crossing = crossing_log10(curve["log10_c"], curve["test_accuracy_sampled"], level)
            if not candidates or not math.isfinite(crossing):
                continue
            nearest = min(candidates, key=lambda lc, x=crossing: (abs(lc - x), lc))
            if nearest not in chosen:
                chosen.append(nearest)
        out[(rho, noise)] = sorted(chosen)
    return out


def sweep_entries(columns: dict[tuple[str, str], list[float]], seeds: Sequence[int]) -> list:
    """``sweep.networks`` entries (config.yaml) for these columns and seeds."""
    return [
        {"rho": rho, "noise": noise, "log10_c": list(values), "seeds": list(seeds)}
        for (rho, noise), values in columns.items()
        if values
    ]


def published_crossings(published: pd.DataFrame) -> pd.DataFrame:
    """Per (ρ, noise), the published log10 c of each crossing level (log-interpolated)."""
    rows = []
    for rho in PUBLISHED_RHOS:
        for noise in NOISES:
            curve = _curve(published, rho, noise)
            row = {"rho": rho, "noise": noise}
            for level in CROSSING_LEVELS:
                row[f"log10_c_{round(100 * level)}"] = crossing_log10(
                    curve["log10_c"], curve["test_accuracy_sampled"], level
                )
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", help="directory of the published arrays")
    args = parser.parse_args(argv)
    published = fig23_table(args.published, PUBLISHED_GRID)
    transitions = transition_columns(published)
    import yaml

    for name, entries in (
        ("Figure 2 transitions, seed 0", sweep_entries(transitions, [0])),
        (
            "seed spread, seeds 1 and 2",
            sweep_entries(crossing_columns(published, transitions), [1, 2]),
        ),
    ):
        n = sum(len(e["log10_c"]) * len(e["seeds"]) for e in entries)
        print(f"# {name}: {n} networks")
        print(yaml.safe_dump({"networks": entries}, sort_keys=False, default_flow_style=None))
    print(published_crossings(published).to_string(index=False))


if __name__ == "__main__":
    main()
