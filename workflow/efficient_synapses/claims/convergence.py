"""The Methods' "rapid convergence", from training_history.csv: how much each network still
moved over its last epochs.

Methods: the hyper-parameters were chosen "to enable smooth learning, high performance,
and rapid convergence". A network that has converged barely changes at the end of
training: its RMS σ and its test accuracy over the last ``window`` epochs move by less
than bounds fixed in config.yaml. At paper settings this may well fail (our runs find the
networks at Figure 2's transitions still moving at epoch 50): that is a finding.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .core import PAPER, ClaimResult, excluded, without_diverged

QUOTE = (
    'Methods: "hyperparameters were chosen to enable smooth learning, high performance, '
    'and rapid convergence"'
)
GROUP = "Methods: rapid convergence (training histories)"


def end_changes(history: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per network: over its last ``window`` epochs (or all it has, if fewer), the change of
    log10 RMS σ and of the sampled test accuracy, between the recorded epoch at or before
    the window's start and the last; and the epochs the change spans."""
    keys = [k for k in ("variant", "noise", "rho", "c", "seed") if k in history]
    rows = []
    for key, g in history.groupby(keys, sort=False):
        g = g.sort_values("epoch")
        last = int(g["epoch"].max())
        start = max(int(g["epoch"].min()), last - window)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        sigma = g.dropna(subset=["sigma_rms"])
        first_sigma = sigma[sigma["epoch"] <= start].iloc[-1] if len(sigma) else None
        end_sigma = sigma.iloc[-1] if len(sigma) else None
        if first_sigma is not None and first_sigma["sigma_rms"] > 0 and end_sigma["sigma_rms"] > 0:
            row["sigma_change_decades"] = float(
                np.log10(end_sigma["sigma_rms"]) - np.log10(first_sigma["sigma_rms"])
            )
        else:
            row["sigma_change_decades"] = float("nan")
        accuracy = g.dropna(subset=["test_accuracy_sampled"])
        before = accuracy[accuracy["epoch"] <= start]
        if len(before) and accuracy["epoch"].iloc[-1] > before["epoch"].iloc[-1]:
            row["accuracy_change"] = float(
                accuracy["test_accuracy_sampled"].iloc[-1]
                - before["test_accuracy_sampled"].iloc[-1]
            )
            row["accuracy_epochs"] = int(accuracy["epoch"].iloc[-1] - before["epoch"].iloc[-1])
        else:
            row["accuracy_change"] = float("nan")
            row["accuracy_epochs"] = 0
        row["sigma_epochs"] = last - int(first_sigma["epoch"]) if first_sigma is not None else 0
        rows.append(row)
    return pd.DataFrame(rows)


def convergence_claims(
    history: pd.DataFrame, window: int, max_sigma_decades: float, max_accuracy: float
) -> list[ClaimResult]:
    """Per ρ and noise setting: every network's RMS σ moved by at most ``max_sigma_decades``
    and its test accuracy by at most ``max_accuracy`` over its last ``window`` epochs."""
    history = history.copy()
    history["rho"] = history["rho"].astype(str)
    history, n_diverged = without_diverged(history)
    changes = end_changes(history, window)
    rows = []
    for (rho, noise), g in changes.groupby(["rho", "noise"], sort=False):
        low, high = int(g["sigma_epochs"].min()), int(g["sigma_epochs"].max())
        spans = f"over the last {low} " if low == high else f"over the last {low}-{high} "
        for column, bound, what, unit in (
            ("sigma_change_decades", max_sigma_decades, "log10 RMS σ", "decades"),
            ("accuracy_change", max_accuracy, "sampled test accuracy", "(fraction)"),
        ):
            values = g[column].abs()
            measured = values.dropna()
            worst = float(measured.max()) if len(measured) else float("nan")
            seeds = int(g["seed"].nunique())
            rows.append(
                ClaimResult(
                    PAPER,
                    f"converged_{column}",
                    f"Training has converged: {what} no longer moves at the end",
                    QUOTE,
                    "training_history",
                    f"rho={rho}, {noise}; {len(g)} networks; {len(measured)} with the change "
                    f"measured {spans}epochs (window {window})" + excluded(n_diverged),
                    f"max over networks of |change of {what}| {unit}",
                    worst,
                    float("nan"),
                    seeds,
                    f"≤ {bound:g} {unit} for every network",
                    bool(len(measured) == len(g) and math.isfinite(worst) and worst <= bound),
                    evidence=GROUP,
                    fails_if=(
                        f"some network's {what} moved by more than {bound:g} over its last "
                        f"{window} epochs, or was not recorded twice in them"
                    ),
                )
            )
    return rows
