"""Figure 7 and Appendix 5 figure 1: optimised noise against the Bayesian posterior.

Drawing only: per-synapse arrays from ``fig7.npz`` / ``figA5_1.npz``, fits from the
slope tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Ellipse

from .style import NOISE_COLOURS, apply_style, rho_title, save_figure, tidy_log_axes

POSTERIOR_COLOUR = "0.35"
ANALYTIC_COLOUR = "#4a6fa5"
EXPERIMENT_COLOUR = "#c0392b"
RHO_COLOURS = {"1/2": "#1b9e77", "2/3": "#d95f02", "4/3": "#7570b3", "2": "#e7298a"}


def _networks(arrays: Mapping[str, np.ndarray]) -> list[int]:
    return sorted(int(k[3:].split("_")[0]) for k in arrays if k.endswith("_meta"))


def _mean_sd(values) -> str:
    values = np.asarray(values, float)
    if len(values) < 2:
        return f"{values.mean():.2f}"
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"


def _factor_label(factor: float) -> str:
    if np.isclose(factor, 1.0):
        return r"$c = 10^{-2\rho}/\rho$"
    return rf"$c = 10^{{-2\rho}}/\rho \times 10^{{{np.log10(factor):+.2g}}}$"


def _fit_line(ax, x, slope, intercept, **kwargs):
    grid = np.geomspace(np.min(x), np.max(x), 20)
    ax.plot(grid, 10 ** (intercept + slope * np.log10(grid)), **kwargs)


def plot_figure7(arrays: Mapping[str, np.ndarray], table: pd.DataFrame, pdf: str, png: str) -> None:
    """(a) ellipses, ρ columns × c rows; (b) σ² vs σ²_post by ρ; (c) by c at ρ = 1/2; (d) slopes."""
    apply_style()
    nets = _networks(arrays)
    meta = {k: arrays[f"net{k}_meta"] for k in nets}
    rhos = list(dict.fromkeys(str(arrays[f"net{k}_rho"]) for k in nets))
    factors = sorted({float(m[1]) for m in meta.values()})
    n_rows, n_cols = len(factors), len(rhos)
    fig = plt.figure(figsize=(1.75 * n_cols + 0.8, 1.55 * n_rows + 3.0))
    outer = fig.add_gridspec(
        2, 1, height_ratios=[1.55 * n_rows, 2.6], hspace=0.3, top=0.91, bottom=0.07
    )
    top = outer[0].subgridspec(n_rows, n_cols, wspace=0.35, hspace=0.45)
    post = arrays["pair_posterior_sd"]
    for k in nets:
        rho, factor = str(arrays[f"net{k}_rho"]), float(meta[k][1])
        i, j = factors.index(factor), rhos.index(rho)
        ax = fig.add_subplot(top[i, j])
        sigma = arrays[f"net{k}_pair_sigma"]
        ax.add_patch(
            Ellipse((0, 0), 2 * post[0], 2 * post[1], fill=False, ls="--", color=POSTERIOR_COLOUR)
        )
        ax.add_patch(
            Ellipse(
                (0, 0),
                2 * sigma[0],
                2 * sigma[1],
                fill=False,
                lw=1.3,
                color=NOISE_COLOURS["heterogeneous"],
            )
        )
        extent = 1.15 * max(post.max(), sigma.max())
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=5)
        ax.set_title(
            (f"{rho_title(rho)}\n" if i == 0 else "") + f"c = {meta[k][2]:.3g}", fontsize=7
        )
        if j == 0:
            ax.set_ylabel(r"$w_j - \mu_j$", fontsize=7)
        if i == n_rows - 1:
            ax.set_xlabel(r"$w_i - \mu_i$", fontsize=7)
    fig.suptitle(
        "(a) 1-sd ellipses of an illustrative synapse pair: "
        "posterior (dashed) and optimised σ (green)",
        fontsize=8,
        y=0.99,
    )

    bottom = outer[1].subgridspec(1, 3, wspace=0.45)
    panels = [fig.add_subplot(bottom[0, m]) for m in range(3)]
    layer = int(arrays["layer"])
    first_seed = table["seed"].min()

    def draw(ax, rows, colour_of, label_of):
        for _, r in rows.iterrows():
            k = _index_of(nets, meta, arrays, r)
            x, y = arrays[f"net{k}_posterior_variance"], arrays[f"net{k}_sigma_squared"]
            colour = colour_of(r)
            ax.scatter(x, y, s=1.5, alpha=0.15, color=colour, lw=0, rasterized=True)
            same = table[
                (table["rho"].astype(str) == str(r["rho"]))
                & np.isclose(table["c_factor"], r["c_factor"])
            ]
            _fit_line(
                ax,
                x,
                r["slope"],
                r["intercept"],
                color=colour,
                lw=1.4,
                label=f"{label_of(r)}: slope {_mean_sd(same['slope'])}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        tidy_log_axes(ax)
        ax.set_xlabel(r"posterior variance $\sigma^2_{post}$ (VI)")
        ax.set_ylabel(r"optimised variance $\sigma^2$")
        ax.legend(frameon=False, fontsize=5.5, loc="upper left", markerscale=4)

    seed_rows = table[table["seed"] == first_seed]
    draw(
        panels[0],
        seed_rows[np.isclose(seed_rows["c_factor"], 1.0)],
        lambda r: RHO_COLOURS.get(str(r["rho"]), "k"),
        lambda r: f"ρ = {r['rho']}",
    )
    panels[0].set_title(f"(b) by ρ, c = 10^(-2ρ)/ρ, layer {layer}")
    half = seed_rows[seed_rows["rho"].astype(str) == "1/2"]
    blues = plt.cm.Blues(np.linspace(0.45, 0.95, max(len(half), 1)))
    order = {f: n for n, f in enumerate(sorted(half["c_factor"]))}
    draw(
        panels[1],
        half,
        lambda r: blues[order[r["c_factor"]]],
        lambda r: f"c = {r['c']:.3g}",
    )
    panels[1].set_title("(c) by c, ρ = 1/2")

    ax = panels[2]
    summary = table.groupby(["rho_value", "c_factor"])["slope"].agg(["mean", "std"]).reset_index()
    for factor, rows in summary.groupby("c_factor"):
        ax.errorbar(
            rows["rho_value"],
            rows["mean"],
            yerr=rows["std"].fillna(0),
            marker="o",
            ms=3,
            lw=0.8,
            capsize=2,
            label=f"fitted, {_factor_label(factor)}",
        )
    grid = np.linspace(0.3, 2.2, 50)
    ax.plot(grid, 2 / (grid + 2), color=ANALYTIC_COLOUR, ls="--", label="2/(ρ+2) (Eq. 54c)")
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.set_xlabel("ρ")
    ax.set_ylabel(r"slope of log $\sigma^2$ on log $\sigma^2_{post}$")
    ax.set_title("(d) slopes, mean ± sd over seeds")
    ax.set_ylim(0, 1.35)
    ax.legend(frameon=False, fontsize=5.5, loc="upper right")
    save_figure(fig, pdf, png)


def _index_of(nets, meta, arrays, row) -> int:
    for k in nets:
        if str(arrays[f"net{k}_rho"]) == str(row["rho"]) and np.isclose(
            meta[k][1], row["c_factor"]
        ):
            return k
    raise KeyError(f"no drawn network for rho={row['rho']} c_factor={row['c_factor']}")


A5_ROWS = {
    "learning_rate": (r"learning rate $\eta_i$", "4/(ρ+2) (Eq. 54a)"),
    "input_sq": (r"mean squared input $\langle x_i^2\rangle$", "-2/(ρ+2) (Eq. 54b)"),
    "posterior_variance": (r"posterior variance $\sigma^2_{post}$", "2/(ρ+2) (Eq. 54c)"),
}


def plot_figure_a5(
    arrays: Mapping[str, np.ndarray],
    table: pd.DataFrame,
    pdf: str,
    png: str,
    experimental_slope: float | None = None,
) -> None:
    """Rows: σ² against η, <x²>, σ²_post; columns: ρ. Simulated fit, analytic, experiment."""
    apply_style()
    nets = sorted(int(k[3:].split("_")[0]) for k in arrays if k.endswith("_rho"))
    rhos = [str(arrays[f"net{k}_rho"]) for k in nets]
    fig, axes = plt.subplots(
        len(A5_ROWS), len(nets), figsize=(2.1 * len(nets), 2.0 * len(A5_ROWS)), squeeze=False
    )
    first_seed = table["seed"].min()
    for j, (k, rho) in enumerate(zip(nets, rhos, strict=True)):
        y = arrays[f"net{k}_sigma_squared"]
        for i, (quantity, (label, analytic_label)) in enumerate(A5_ROWS.items()):
            ax = axes[i, j]
            x = arrays[f"net{k}_{quantity}"]
            keep = np.isfinite(x) & (x > 0) & (y > 0)
            ax.scatter(
                x[keep],
                y[keep],
                s=1.5,
                alpha=0.25,
                lw=0,
                color=NOISE_COLOURS["heterogeneous"],
                rasterized=True,
            )
            rows = table[(table["rho"].astype(str) == rho) & (table["quantity"] == quantity)]
            fit = rows[rows["seed"] == first_seed].iloc[0]
            _fit_line(
                ax,
                x[keep],
                fit["slope"],
                fit["intercept"],
                color="0.3",
                lw=1.2,
                label=f"simulated: {_mean_sd(rows['slope'])}",
            )
            # Analytic and experimental slopes drawn through the centroid of the points.
            cx, cy = np.mean(np.log10(x[keep])), np.mean(np.log10(y[keep]))
            analytic = float(fit["analytic_slope"])
            _fit_line(
                ax,
                x[keep],
                analytic,
                cy - analytic * cx,
                color=ANALYTIC_COLOUR,
                ls="-",
                lw=1.0,
                label=f"analytic {analytic_label.split(' ')[0]} = {analytic:.2f}",
            )
            if quantity == "input_sq" and experimental_slope is not None:
                _fit_line(
                    ax,
                    x[keep],
                    experimental_slope,
                    cy - experimental_slope * cx,
                    color=EXPERIMENT_COLOUR,
                    ls="--",
                    lw=1.0,
                    label=f"Ko et al. (Fig. 6b): {experimental_slope:.2f}",
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            tidy_log_axes(ax)
            ax.legend(frameon=False, fontsize=5, loc="best")
            if i == 0:
                ax.set_title(rho_title(rho))
            if j == 0:
                ax.set_ylabel(r"$\sigma^2$")
            ax.set_xlabel(label)
    fig.tight_layout()
    save_figure(fig, pdf, png)
