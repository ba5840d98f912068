"""Figure 5 and Appendix 6 figures 1-2: per-synapse σ² against Hessian, learning and input rate.

Drawing only: the per-synapse arrays come from ``statistics.npz`` files, the
correlations and fits from ``results/tables/curvature.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..artefacts import read_npz
from ..statistics import subsample
from ..synapses.tables import layer_quantities
from .style import (
    NOISE_COLOURS,
    apply_style,
    mean_sd_text,
    occupied_range,
    rho_title,
    save_figure,
    space_between_panels,
    tidy_log_axes,
)

XLABELS = {
    "hessian": "Hessian $H_{ii}$ (empirical Fisher)",
    "learning_rate": r"learning rate $\eta_i = \eta_{base}/\sqrt{\langle g_i^2\rangle}$",
    "learning_rate_abs": r"learning rate $\eta_i = \eta_{base}/\langle|g_i|\rangle$",
    "input_rate": r"input rate $\langle|x|\rangle$",
}
LAYER_NAMES = {1: "input → hidden 1", 2: "hidden 1 → hidden 2", 3: "hidden 2 → output"}


def _factor_text(factor: float) -> str:
    if factor == 1:
        return r"$c = s^\rho/\rho$"
    if factor > 1:
        return rf"$c = {factor:g}\,s^\rho/\rho$"
    return rf"$c = s^\rho/\rho\,/\,{1 / factor:g}$"


def _seed_summary(rows: pd.DataFrame) -> str:
    """Spearman r and slope: mean ± sd over the seeds in ``rows``."""
    n = len(rows)
    if n == 0:
        return "no statistics"
    r, slope = mean_sd_text(rows["spearman_r"]), mean_sd_text(rows["slope"])
    return f"$r_s$ = {r}, slope {slope} ({n} seed{'s' if n > 1 else ''})"


EXCLUDED = {
    "hessian": "with $H_{ii}$ = 0",
    "learning_rate": r"with $\eta_i = \infty$",
    "learning_rate_abs": r"with $\eta_i = \infty$",
    "input_rate": "with rate 0",
}


def plot_synapse_patterns(
    table: pd.DataFrame,
    networks: Sequence[Mapping],
    blocks: Sequence[Sequence],
    gradient: str,
    scatter_points: int,
    scatter_seed: int,
    pdf,
    png,
    learning_rate: str = "learning_rate",
) -> None:
    """Rows: (layer, c factor) blocks x (Hessian, learning rate, input rate); columns: ρ.

    Points: the synapses of one network per panel (the first seed; at most
    ``scatter_points``, subsampled with ``scatter_seed``), log axes, rasterised.
    Line: that network's least-squares fit in log-log space. Text: Spearman r
    and slope, mean ± sd across all seeds in ``table``; synapses with a
    non-positive or infinite value (dead units) cannot be drawn and are counted.
    ``learning_rate``: "learning_rate" (Eq. 7, η_base / sqrt(<g²>)) or
    "learning_rate_abs" (Methods, η_base / <|g|>).
    """
    quantities = ("hessian", learning_rate, "input_rate")
    apply_style()
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    rhos = (
        pd.DataFrame(networks)[["rho", "rho_value"]]
        .drop_duplicates()
        .sort_values("rho_value")["rho"]
        .astype(str)
        .tolist()
    )
    by_key = {(str(n["rho"]), float(n["c_factor"])): n for n in networks}
    fig = plt.figure(
        figsize=(2.4 * len(rhos) + 0.6, 2.5 * 3 * len(blocks) + 0.3), layout="constrained"
    )
    space_between_panels(fig)
    subfigures = np.atleast_1d(fig.subfigures(len(blocks), 1, wspace=0.1))
    for b, (layer, factor) in enumerate(blocks):
        layer, factor = int(layer), float(factor)
        letter = f"{'abcdefgh'[b]}   " if len(blocks) > 1 else ""
        subfigures[b].suptitle(
            f"{letter}layer {layer} ({LAYER_NAMES.get(layer, '')}), {_factor_text(factor)}",
            weight="bold",
            size=9,
        )
        axes = subfigures[b].subplots(3, len(rhos), squeeze=False)
        for j, rho in enumerate(rhos):
            network = by_key[(rho, factor)]
            q = layer_quantities(read_npz(network["path"]), layer, gradient)
            for i, quantity in enumerate(quantities):
                grad = "none" if quantity == "input_rate" else gradient
                rows = table[
                    (table["layer"] == layer)
                    & (table["rho"] == rho)
                    & np.isclose(table["c_factor"], factor)
                    & (table["quantity"] == quantity)
                    & (table["gradient"] == grad)
                ]
                ax = axes[i, j]
                text = _pattern_panel(
                    ax,
                    q[quantity],
                    q["sigma_squared"],
                    rows,
                    int(network["seed"]),
                    quantity,
                    scatter_points,
                    scatter_seed,
                )
                ax.set_title(f"{rho_title(rho)}\n{text}" if i == 0 else text, fontsize=6.5)
                if j == 0:
                    ax.set_ylabel("synaptic variance σ²")
    save_figure(fig, pdf, png)


def _pattern_panel(ax, x, y, rows, seed, quantity, scatter_points, scatter_seed) -> str:
    """σ² (y) against one quantity (x) of one network, log-log: the drawable synapses
    (subsampled), the fit of network ``seed`` from ``rows``; returns the panel's text.

    The axes span the 1st to 99th percentile of x (``style.occupied_range``) and the σ² of
    the synapses inside it; the fit and its statistics use every synapse, and the text says
    how many lie beyond the shown x range."""
    keep = np.isfinite(x) & (x > 0) & np.isfinite(y) & (y > 0)
    index = subsample(int(keep.sum()), scatter_points, scatter_seed)
    xs, ys = x[keep][index], y[keep][index]
    colour = NOISE_COLOURS["heterogeneous"]
    ax.scatter(xs, ys, s=1.0, lw=0, alpha=0.35, color=colour, rasterized=True)
    ax.set_xscale("log")
    ax.set_yscale("log")
    beyond = 0
    if keep.any():
        lo, hi, beyond, _ = occupied_range([x[keep]])
        inside = y[keep][(x[keep] >= lo) & (x[keep] <= hi)]
        ax.set_xlim(lo / 1.5, hi * 1.5)
        ax.set_ylim(inside.min() / 1.5, inside.max() * 1.5)
        own = rows[rows["seed"] == seed]
        if len(own) and np.isfinite(own["slope"].iloc[0]):
            line_x = np.geomspace(lo, hi, 50)
            slope, intercept = own["slope"].iloc[0], own["intercept"].iloc[0]
            ax.plot(line_x, 10**intercept * line_x**slope, color="black", lw=1.0)
    ax.set_xlabel(XLABELS[quantity])
    tidy_log_axes(ax, plain="short")
    text = _seed_summary(rows).replace(", slope", "\nslope")
    excluded = int((~keep).sum())
    if excluded:
        text += f"\n{excluded} synapses {EXCLUDED[quantity]} not shown"
    if beyond:
        text += f"\n{beyond} beyond the 1st-99th percentile of x"
    return text
