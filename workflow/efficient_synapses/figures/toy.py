"""Appendix 4 figure 1: predictive distributions, variational Bayes against the overall cost."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..artefacts import parse_rho
from ..costs import c_from_s
from .style import NOISE_COLOURS, apply_style, rho_title, save_figure

VI_COLOUR = "#4a6fa5"


def _panel(ax, arrays, mean, sd, colour, title):
    grid = arrays["grid"]
    for low, high in arrays["intervals"]:
        ax.axvspan(low, high, color="0.93", lw=0, zorder=0)
    ax.fill_between(grid, mean - 2 * sd, mean + 2 * sd, color=colour, alpha=0.3, lw=0)
    ax.plot(grid, arrays["f_grid"], color="0.45", lw=1.0, label="f(x) = x³ + 2x²")
    ax.plot(grid, mean, color=colour, lw=1.2, label="predictive mean")
    ax.plot(arrays["x"], arrays["y"], "k.", ms=2.0, label="data")
    ax.set_title(title)
    low, high = np.percentile(arrays["f_grid"], [0, 100])
    pad = 0.25 * (high - low)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(grid[0], grid[-1])


def plot_toy_regression(arrays: Mapping[str, np.ndarray], pdf: str, png: str) -> None:
    """(a) variational Bayes; (b) the overall cost, rows s (c = s^ρ/ρ), columns ρ."""
    apply_style()
    s_values, rhos = arrays["s_values"], [str(r) for r in arrays["rho"]]
    n_rows, n_cols = len(s_values), len(rhos)
    fig = plt.figure(figsize=(2.0 * (n_cols + 1.2), 1.9 * n_rows + 0.4))
    grid = fig.add_gridspec(
        n_rows, n_cols + 1, width_ratios=[1.2] + [1] * n_cols, wspace=0.35, hspace=0.6
    )
    ax = fig.add_subplot(grid[:, 0])
    _panel(ax, arrays, arrays["vi_mean"], arrays["vi_sd"], VI_COLOUR, "(a) variational Bayes")
    ax.set_xlabel("x")
    ax.set_ylabel("y; predictive mean ± 2 sd")
    ax.legend(loc="upper left", frameon=False)
    first = None
    for i, s in enumerate(s_values):
        for j, rho in enumerate(rhos):
            ax = fig.add_subplot(grid[i, j + 1], sharex=first, sharey=first)
            first = first or ax
            c = c_from_s(float(s), float(parse_rho(rho)))
            title = ("(b) overall cost\n" if i == 0 and j == 0 else "") + (
                f"{rho_title(rho)}\n" if i == 0 else ""
            )
            _panel(
                ax,
                arrays,
                arrays["energy_mean"][i, j],
                arrays["energy_sd"][i, j],
                NOISE_COLOURS["heterogeneous"],
                title + f"s = {float(s):g}, c = {c:.3g}",
            )
            if i == n_rows - 1:
                ax.set_xlabel("x")
            if j > 0:
                ax.tick_params(labelleft=False)
    fig.text(
        0.5,
        -0.02,
        "grey bands: intervals with data; shading: ±2 sd of the outputs under the weight noise",
        ha="center",
        fontsize=7,
    )
    save_figure(fig, pdf, png)
