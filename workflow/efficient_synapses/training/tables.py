"""Aggregation of per-network outputs into tables."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..artefacts import read_metrics
from .chance_bound import cost_at_end

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
    # A network whose loss or gradient turned non-finite (engine: on_non_finite="isolate"):
    # its other columns are measured on its frozen parameters; a value that is still not
    # finite there (e.g. an infinite reliability cost) is left empty, never for others.
    "diverged",
    "diverged_epoch",
]


# RMS over the weights of every synapse's own σ_i: recorded where homogeneous networks
# are sampled with a shared σ_rms (the released code's form); empty otherwise.
OPTIONAL_COLUMNS = ["sigma_rms_own"]


# Silent units and the split of RMS σ at the end of training (efficient_synapses.training.drift);
# empty for a metrics.json written before they were recorded, and the RMS σ of an empty
# set (no silent unit) is empty too.
DRIFT_COLUMNS = [
    "silent_units_layer1",
    "silent_units_layer2",
    "active_fraction_sampled_layer1",
    "active_fraction_sampled_layer2",
    "sigma_rms_live",
    "sigma_rms_silent_touching",
    "n_weights_live",
    "n_weights_silent_touching",
]


# Per-dataset costs at the end of training (efficient_synapses.training.chance_bound); empty
# chance_bound: N H(y), below which no trivial network's cost goes; above_chance_bound:
# this network's cost exceeds it; c_beats_trivial_below: c_θ, below which this state is
# cheaper than every trivial network (empty: no such c). efficient_synapses.training.chance_bound
COST_COLUMNS = ["overall_cost", "chance_bound", "above_chance_bound", "c_beats_trivial_below"]


def training_table(metrics_files: Iterable[str | Path]) -> pd.DataFrame:
    """One row per network from its metrics.json; fails naming a file with non-finite values."""
    rows = []
    for path in metrics_files:
        metrics = read_metrics(path)
        # metrics.json written before divergence was recorded: the network did not diverge.
        metrics.setdefault("diverged", False)
        metrics.setdefault("diverged_epoch", None)
        missing = [key for key in TRAINING_COLUMNS if key not in metrics]
        if missing:
            raise ValueError(f"{path}: missing keys {missing}")
        row = {key: metrics[key] for key in TRAINING_COLUMNS}
        if row["diverged"] and row["diverged_epoch"] is None:
            raise ValueError(f"{path}: diverged is true but diverged_epoch is missing")
        if not row["diverged"]:
            bad = [
                k
                for k, v in row.items()
                if k != "diverged_epoch"
                and (v is None or (isinstance(v, float) and not math.isfinite(v)))
            ]
            if bad:
                raise ValueError(f"{path}: non-finite values in {bad}")
        # Variant and the end-of-training cost against the trivial network (issue 14); a
        # metrics.json written before them has the Methods variant and empty costs.
        cost = cost_at_end(metrics)
        row["variant"] = metrics.get("variant", "methods")
        row.update({key: cost.get(key) for key in COST_COLUMNS})
        row.update({key: metrics.get(key) for key in OPTIONAL_COLUMNS + DRIFT_COLUMNS})
        rows.append(row)
    if not rows:
        raise ValueError("no training metrics to aggregate")
    columns = [*TRAINING_COLUMNS, "variant", *COST_COLUMNS, *OPTIONAL_COLUMNS, *DRIFT_COLUMNS]
    table = pd.DataFrame(rows, columns=columns)
    table["diverged"] = table["diverged"].astype(bool)
    table["diverged_epoch"] = table["diverged_epoch"].astype("Int64")  # empty when not diverged
    return table.sort_values(["noise", "rho_value", "c", "seed"]).reset_index(drop=True)


def seed_summary(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean, standard deviation, min and max across seeds per (noise, rho, c)."""
    grouped = table.groupby(["noise", "rho", "rho_value", "c"], sort=True)[columns]
    summary = grouped.agg(["mean", "std", "min", "max", "count"])
    summary.columns = [f"{col}_{stat}" for col, stat in summary.columns]
    return summary.reset_index().sort_values(["noise", "rho_value", "c"])
