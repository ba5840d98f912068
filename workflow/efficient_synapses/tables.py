"""Aggregation of per-network outputs into tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

TRAINING_COLUMNS = [
    "noise",
    "rho",
    "rho_value",
    "c",
    "seed",
    "test_accuracy_sampled",
    "test_accuracy_mean_weights",
    "test_cross_entropy_sampled",
    "sigma_rms",
    "sigma_mean",
    "reliability_cost_s1",
    "final_train_loss",
    "final_train_accuracy",
    "wall_seconds",
    "device",
    "n_train",
    "n_test",
]


def training_table(metrics_files: Iterable[str | Path]) -> pd.DataFrame:
    """One row per network from its metrics.json; fails naming a file with non-finite values."""
    rows = []
    for path in metrics_files:
        metrics = json.loads(Path(path).read_text())
        row = {key: metrics[key] for key in TRAINING_COLUMNS}
        bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise ValueError(f"{path}: non-finite values in {bad}")
        rows.append(row)
    if not rows:
        raise ValueError("no training metrics to aggregate")
    table = pd.DataFrame(rows, columns=TRAINING_COLUMNS)
    return table.sort_values(["noise", "rho_value", "c", "seed"]).reset_index(drop=True)


def seed_summary(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean, standard deviation, min and max across seeds per (noise, rho, c)."""
    grouped = table.groupby(["noise", "rho", "rho_value", "c"], sort=True)[columns]
    summary = grouped.agg(["mean", "std", "min", "max", "count"])
    summary.columns = [f"{col}_{stat}" for col, stat in summary.columns]
    return summary.reset_index().sort_values(["noise", "rho_value", "c"])
