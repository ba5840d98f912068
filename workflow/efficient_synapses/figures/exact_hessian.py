"""Figure 5 with the exact Hessian diagonal (beyond the paper): σ² against the empirical
Fisher (top row, as in the paper) and against the exact H_ii (bottom row), for the same
synapses, one column per ρ. Numbers from ``results/tables/exact_hessian.csv``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..artefacts import read_npz
from ..synapses.exact_hessian import ESTIMATE_LABELS, ESTIMATES, exact_subset
from .style import (
    NOISE_COLOURS,
    apply_style,
    occupied_range,
    rho_title,
    save_figure,
    space_between_panels,
    tidy_log_axes,
)


def _panel_text(row: pd.Series | None, rho_value: float, beyond: int) -> str:
    if row is None:
        return "no fit"
    text = f"$r_s$ = {row['spearman_r']:.2f}, slope {row['slope']:.2f}"
    text += f"\n(Eq. 29: {-2 / (rho_value + 2):.2f}), n = {int(row['n_used'])}"
    if int(row["n_excluded"]):
        text += f", {int(row['n_excluded'])} ≤ 0 not shown"
    if beyond:
        text += f"\n{beyond} beyond the 1st-99th percentile of x"
    return text


def plot_exact_hessian(
    table: pd.DataFrame, networks: Sequence[Mapping], layer: int, gradient: str, pdf, png
) -> None:
    """Rows: empirical Fisher, exact H_ii; columns: the networks (one per ρ), ``layer``.

    Points: every synapse of the exact subset with both values positive (log axes);
    line: the least-squares fit of log σ² on log H of the table (over every synapse). The
    x axes span the 1st-99th percentile of H (``style.occupied_range``), the σ² axis of a
    column the synapses inside them; each panel says how many lie beyond.
    """
    apply_style()
    networks = sorted(networks, key=lambda n: float(n["rho_value"]))
    fig, axes = plt.subplots(
        2,
        len(networks),
        figsize=(2.4 * len(networks) + 0.6, 5.2),
        squeeze=False,
        layout="constrained",
        sharey="col",
    )
    space_between_panels(fig)
    colour = NOISE_COLOURS["heterogeneous"]
    for j, network in enumerate(networks):
        subset = exact_subset(read_npz(network["path"]), layer, gradient)
        if subset is None:
            raise ValueError(f"{network['path']}: no exact Hessian for layer {layer}")
        shown_sigma_squared = []
        for i, estimate in enumerate(ESTIMATES):
            ax = axes[i, j]
            x, y = subset[estimate], subset["sigma_squared"]
            keep = np.isfinite(x) & (x > 0) & np.isfinite(y) & (y > 0)
            ax.scatter(x[keep], y[keep], s=3, lw=0, alpha=0.5, color=colour, rasterized=True)
            ax.set_xscale("log")
            ax.set_yscale("log")
            lo, hi, beyond = np.nan, np.nan, 0
            if keep.any():
                lo, hi, beyond, _ = occupied_range([x[keep]])
                ax.set_xlim(lo / 1.5, hi * 1.5)
                shown_sigma_squared.append(y[keep][(x[keep] >= lo) & (x[keep] <= hi)])
            match = table[
                (table["rho"].astype(str) == str(network["rho"]))
                & (table["seed"] == int(network["seed"]))
                & np.isclose(table["c_factor"], float(network["c_factor"]))
                & (table["layer"] == layer)
                & (table["estimate"] == estimate)
            ]
            row = match.iloc[0] if len(match) else None
            if row is not None and np.isfinite(row["slope"]) and keep.any():
                line_x = np.geomspace(lo, hi, 50)
                ax.plot(line_x, 10 ** row["intercept"] * line_x ** row["slope"], "k", lw=1)
            text = _panel_text(row, float(network["rho_value"]), beyond)
            ax.set_title(
                f"{rho_title(str(network['rho']))}\n{text}" if i == 0 else text, fontsize=6.5
            )
            ax.set_xlabel(ESTIMATE_LABELS[estimate])
            if j == 0:
                ax.set_ylabel("synaptic variance σ²")
        if shown_sigma_squared:
            shown = np.concatenate(shown_sigma_squared)
            axes[0, j].set_ylim(shown.min() / 1.5, shown.max() * 1.5)  # shared by the column
        for ax in axes[:, j]:
            tidy_log_axes(ax)
    fig.suptitle(
        f"Figure 5 (layer {layer}) on the synapses with an exact Hessian: "
        "empirical Fisher (top) against exact $H_{ii}$ (bottom)",
        size=8,
    )
    save_figure(fig, pdf, png)
