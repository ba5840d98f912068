"""Figure 6: the experimental signatures (Sjöström LTP/LTD, Ko). Draws saved numbers only."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter

from .style import NOISE_COLOURS, apply_style, save_figure, tidy_log_axes

POINT_COLOUR = "#404040"
FIT_COLOUR = NOISE_COLOURS["heterogeneous"]

NORMALISATION_LABELS = {
    "sd/mean": "EPSP sd / mean (CV)",
    "var/mean": "EPSP variance / mean",
    "var/mean^2": "EPSP variance / mean² (CV²)",
    "var": "EPSP variance",
}


def _estimate(table: pd.DataFrame, dataset: str, quantity: str) -> pd.Series:
    row = table[(table["dataset"] == dataset) & (table["quantity"] == quantity)]
    if len(row) != 1:
        raise KeyError(f"statistics table has {len(row)} rows for {dataset} {quantity}")
    return row.iloc[0]


def _with_ci(row: pd.Series, digits: int = 2) -> str:
    return f"{row['value']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"


def _sjostrom_panel(ax, arrays, table, dataset, title, level):
    x, y = arrays[f"{dataset}_x"], arrays[f"{dataset}_y"]
    grid = arrays[f"{dataset}_grid"]
    ax.fill_between(
        grid,
        arrays[f"{dataset}_band_low"],
        arrays[f"{dataset}_band_high"],
        color=FIT_COLOUR,
        alpha=0.2,
        lw=0,
        label=f"{level} bootstrap band",
    )
    ax.plot(grid, arrays[f"{dataset}_fit"], color=FIT_COLOUR, lw=1.3, label="least-squares fit")
    ax.plot(x, y, "o", color=POINT_COLOUR, ms=3.5, mfc="white", mew=0.9, label="synapse")
    pearson = _estimate(table, dataset, "pearson_r")
    spearman = _estimate(table, dataset, "spearman_r")
    slope = _estimate(table, dataset, "regression_slope")
    ax.text(
        0.04,
        0.98,
        f"n = {int(pearson['n'])}, {level} bootstrap intervals\n"
        f"Pearson r = {_with_ci(pearson)}\n"
        f"Spearman r = {_with_ci(spearman)}\n"
        f"slope = {_with_ci(slope)}",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=6,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=min(0.0, float(np.min(y)) * 1.1))
    ax.set_ylim(top=float(np.max(y)) * 1.5)
    ax.set_xlabel("release probability (before)")
    ax.set_title(title)


def plot_fig6(arrays, table: pd.DataFrame, pdf, png, paper_slope: float) -> None:
    """(a) Sjöström LTP and LTD: Pr before vs |Δw|/w; (b) Ko: variability vs rate, log-log,
    beside the magnitude ``paper_slope`` of the paper's slope."""
    apply_style()
    confidence = float(arrays["confidence"])
    level = f"{confidence:.0%}"
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9), gridspec_kw={"wspace": 0.42})
    _sjostrom_panel(axes[0], arrays, table, "sjostrom2001_ltp", "Sjöström 2001, LTP", level)
    _sjostrom_panel(axes[1], arrays, table, "sjostrom2001_ltd", "Sjöström 2001, LTD", level)
    axes[0].set_ylabel("relative weight change |Δw| / w(before)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, frameon=False, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.0)
    )

    ax = axes[2]
    normalisation = str(arrays["ko2013_normalisation"])
    rate, variability = arrays["ko2013_rate"], arrays["ko2013_variability"]
    grid = 10.0 ** arrays["ko2013_log10_rate_grid"]
    ax.fill_between(
        grid,
        10.0 ** arrays["ko2013_log10_band_low"],
        10.0 ** arrays["ko2013_log10_band_high"],
        color=FIT_COLOUR,
        alpha=0.2,
        lw=0,
    )
    ax.plot(grid, 10.0 ** arrays["ko2013_log10_fit"], color=FIT_COLOUR, lw=1.3)
    ax.plot(rate, variability, "o", color=POINT_COLOUR, ms=2.5, mfc="white", mew=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    tidy_log_axes(ax)
    # The rates span less than a decade: label plain values (in units of 10^-3).
    ticks = [
        t for t in (1.5e-3, 2e-3, 3e-3, 4e-3, 5e-3) if rate.min() * 0.9 <= t <= rate.max() * 1.1
    ]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 1e3:g}"))
    slope = _estimate(table, "ko2013", f"loglog_slope[{normalisation}]")
    ax.text(
        0.04,
        0.98,
        f"n = {int(slope['n'])}, {level} bootstrap interval\n"
        f"log-log slope = {_with_ci(slope)}\n"
        f"(paper: |slope| = {paper_slope:g})",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=6,
    )
    ax.set_ylim(top=float(variability.max()) * 6)
    ax.set_xlabel("presynaptic rate (fast-oopsi, ×10⁻³)")
    ax.set_ylabel(NORMALISATION_LABELS.get(normalisation, normalisation))
    ax.set_title("Ko 2013 (V1 L2/3, in vivo)")

    for ax, letter in zip(axes, ("a", "", "b"), strict=True):
        if letter:
            ax.text(-0.32, 1.06, letter, transform=ax.transAxes, weight="bold", size=10)
    save_figure(fig, pdf, png)
