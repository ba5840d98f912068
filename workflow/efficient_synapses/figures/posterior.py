"""Figure 7 and Appendix 5 figure 1: optimised noise against the Bayesian posterior.

Drawing only: per-synapse arrays from ``fig7.npz`` / ``figA5_1.npz``, fits from the
slope tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Ellipse
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..artefacts import networks_in
from .style import (
    NOISE_COLOURS,
    apply_style,
    mean_sd_text,
    occupied_range,
    rho_title,
    save_figure,
    tidy_log_axes,
)

POSTERIOR_COLOUR = "0.35"
ANALYTIC_COLOUR = "#4a6fa5"
EXPERIMENT_COLOUR = "#c0392b"
RHO_COLOURS = {"1/2": "#1b9e77", "2/3": "#d95f02", "4/3": "#7570b3", "2": "#e7298a"}
OPTIMISED = NOISE_COLOURS["heterogeneous"]


def _networks(arrays: Mapping[str, np.ndarray]) -> list[int]:
    """The networks k of a figure's arrays (keys ``net{k}_{name}``, ``artefacts.network_key``)."""
    return networks_in(arrays)


def _fit_line(ax, x, slope, intercept, **kwargs):
    grid = np.geomspace(np.min(x), np.max(x), 20)
    ax.plot(grid, 10 ** (intercept + slope * np.log10(grid)), **kwargs)


def _ellipse_panel(ax, arrays, k):
    """One real pair of synapses of network k, as the Methods draw Fig. 7a: the 1-sd
    ellipse of the variational posterior of the two synapses ("we then took σpost from two
    optimised weights"; fitted from the network's μ) beside that of the noise the network
    optimised for them. Without a variational fit, the posterior is 1/H (Eq. 54c)."""
    key = f"net{k}_pair_vi" if f"net{k}_pair_vi" in arrays else f"net{k}_pair_laplace"
    post = np.sqrt(arrays[key])
    learnt = np.sqrt(arrays[f"net{k}_pair_trained"])
    for sd, style in (
        (post, {"ls": "--", "color": POSTERIOR_COLOUR, "lw": 1.0}),
        (learnt, {"color": OPTIMISED, "lw": 1.3}),
    ):
        ax.add_patch(Ellipse((0, 0), 2 * sd[0], 2 * sd[1], fill=False, **style))
    extent = 1.15 * max(post.max(), learnt.max())
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=5)
    # Plain numbers on three ticks: an offset text ("1e-2") above the axis would collide
    # with the title of the panel above.
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.xaxis.set_major_locator(MaxNLocator(3, symmetric=True))
    ax.yaxis.set_major_locator(MaxNLocator(3, symmetric=True))


def plot_figure7(arrays: Mapping[str, np.ndarray], table: pd.DataFrame, pdf: str, png: str) -> None:
    """(a) ellipses, ρ columns x c rows; (b) σ² vs σ²_post by ρ; (c) by c at ρ = 1/2, as the
    paper computes them (Eq. 29 and σ²_post = 1/H); beyond the paper (d) learnt σ² against the
    variational posterior of the same synapses, (e) fitted slopes against 2/(ρ+2)."""
    apply_style()
    drawn = _Figure7Networks.of(arrays)
    n_rows, n_cols = len(drawn.factors), len(drawn.rhos)
    height = 1.55 * n_rows + 3.6
    fig = plt.figure(figsize=(max(1.75 * n_cols + 0.8, 10.0), height))
    # Room for the two-line title above the ellipses: 0.8 inch whatever the number of rows.
    outer = fig.add_gridspec(
        2, 1, height_ratios=[1.55 * n_rows, 2.6], hspace=0.32, top=1 - 0.8 / height, bottom=0.08
    )
    _ellipse_grid(fig, outer[0].subgridspec(n_rows, n_cols, wspace=0.35, hspace=0.5), drawn)
    bottom = outer[1].subgridspec(1, 4, wspace=0.5)
    panels = [fig.add_subplot(bottom[0, m]) for m in range(4)]
    base = [(rho, 1.0) for rho in drawn.rhos if any(np.isclose(f, 1.0) for f in drawn.factors)]
    _analytic_panel(
        panels[0], drawn, base, lambda r, f: RHO_COLOURS.get(str(r), "k"), lambda r, f: f"ρ = {r}"
    )
    panels[0].set_title("(b) by ρ, c = 10^(-2ρ)/ρ")
    if "1/2" in drawn.rhos:
        blues = plt.cm.Blues(np.linspace(0.45, 0.95, len(drawn.factors)))
        _analytic_panel(
            panels[1],
            drawn,
            [("1/2", f) for f in drawn.factors],
            lambda r, f: blues[drawn.factors.index(f)],
            lambda r, f: f"c = {drawn.meta[drawn.network_of(r, f)][2]:.3g}",
        )
        panels[1].set_title("(c) by c, ρ = 1/2")
    else:
        panels[1].set_axis_off()
    _learnt_vs_vi_panel(panels[2], drawn, table, base)
    _slopes_panel(panels[3], table)
    save_figure(fig, pdf, png)


@dataclass(frozen=True)
class _Figure7Networks:
    """The networks drawn in Fig. 7: their arrays, (ρ value, c factor, c) and the grid."""

    arrays: Mapping[str, np.ndarray]
    nets: list[int]
    meta: dict[int, np.ndarray]
    rhos: list[str]
    factors: list[float]

    @classmethod
    def of(cls, arrays: Mapping[str, np.ndarray]) -> _Figure7Networks:
        nets = _networks(arrays)
        meta = {k: arrays[f"net{k}_meta"] for k in nets}
        rhos = list(dict.fromkeys(str(arrays[f"net{k}_rho"]) for k in nets))
        factors = sorted({float(m[1]) for m in meta.values()})
        return cls(arrays, nets, meta, rhos, factors)

    def rho(self, k: int) -> str:
        return str(self.arrays[f"net{k}_rho"])

    def network_of(self, rho, factor) -> int:
        for k in self.nets:
            if self.rho(k) == str(rho) and np.isclose(self.meta[k][1], factor):
                return k
        raise KeyError(f"no drawn network for rho={rho} c_factor={factor}")


def _ellipse_grid(fig, grid, drawn: _Figure7Networks) -> None:
    """(a): one ellipse panel per network, ρ in columns and c in rows, and the title."""
    n_rows = len(drawn.factors)
    for k in drawn.nets:
        rho, factor = drawn.rho(k), float(drawn.meta[k][1])
        i, j = drawn.factors.index(factor), drawn.rhos.index(rho)
        ax = fig.add_subplot(grid[i, j])
        _ellipse_panel(ax, drawn.arrays, k)
        ax.set_title(
            (f"{rho_title(rho)}\n" if i == 0 else "") + f"c = {drawn.meta[k][2]:.3g}", fontsize=7
        )
        if j == 0:
            ax.set_ylabel(r"$w_j - \mu_j$", fontsize=7)
        if i == n_rows - 1:
            ax.set_xlabel(r"$w_i - \mu_i$", fontsize=7)
    layer, gradient = int(drawn.arrays["layer"]), str(drawn.arrays["gradient"])
    fig.suptitle(
        f"(a) 1-sd ellipses of one real pair of synapses (layer {layer}) of each network, as "
        "the Methods draw it: variational posterior fitted from the network's μ (dashed), "
        "optimised noise σ (green)\n(b, c) as the Methods draw them, analytic (Appendix 5): "
        f"Eq. 29 against σ²_post = 1/H, H the empirical Fisher ({gradient} gradients) of each "
        "network at w = μ; (d, e) beyond the paper; points: first seed",
        fontsize=8,
        y=0.995,
    )


def _analytic_panel(ax, drawn: _Figure7Networks, pairs, colour_of, label_of) -> None:
    """(b), (c): Eq. 29's σ² against σ²_post = 1/H of the networks ``pairs`` (ρ, c factor),
    the x axis clipped to where the synapses lie (``style.occupied_range``, the number outside
    written in the panel)."""
    xs = [drawn.arrays[f"net{drawn.network_of(r, f)}_laplace"] for r, f in pairs]
    lo, hi, outside, total = occupied_range(xs)
    for rho, factor in pairs:
        k = drawn.network_of(rho, factor)
        x, y = drawn.arrays[f"net{k}_laplace"], drawn.arrays[f"net{k}_eq29"]
        order = np.argsort(x)
        slope = 2.0 / (float(drawn.meta[k][0]) + 2.0)
        ax.plot(
            x[order],
            y[order],
            color=colour_of(rho, factor),
            lw=1.4,
            label=f"{label_of(rho, factor)}: slope {slope:.2f}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo / 1.5, hi * 1.5)
    ax.autoscale(axis="y")
    ys = [
        drawn.arrays[f"net{drawn.network_of(r, f)}_eq29"][(x >= lo) & (x <= hi)]
        for (r, f), x in zip(pairs, xs, strict=True)
    ]
    inside = np.concatenate([y[np.isfinite(y) & (y > 0)] for y in ys])
    if inside.size:
        ax.set_ylim(inside.min() / 1.5, inside.max() * 1.5)
    ax.text(
        0.98,
        0.03,
        f"{outside} of {total} synapses beyond\nthe 1st-99th percentile of x",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=5,
        color="0.4",
    )
    tidy_log_axes(ax)
    ax.set_xlabel(r"posterior variance $\sigma^2_{post} = 1/H_{ii}$")
    ax.set_ylabel(r"optimised variance $\sigma^2$ (Eq. 29)")
    ax.legend(frameon=False, fontsize=5.5, loc="upper left")


def _learnt_vs_vi_panel(ax, drawn: _Figure7Networks, table: pd.DataFrame, base) -> None:
    """(d): learnt σ² against the variational σ²_post, points and fit of the first seed,
    slope mean ± sd over seeds in the legend."""
    trained_vs_vi = table[table["comparison"] == "trained_vs_vi"]
    for rho, factor in base:
        k = drawn.network_of(rho, factor)
        x, y = drawn.arrays[f"net{k}_vi"], drawn.arrays[f"net{k}_trained"]
        colour = RHO_COLOURS.get(str(rho), "k")
        ax.scatter(x, y, s=1.5, alpha=0.15, color=colour, lw=0, rasterized=True)
        every = trained_vs_vi[
            (trained_vs_vi["rho"].astype(str) == str(rho))
            & np.isclose(trained_vs_vi["c_factor"], factor)
        ]
        row = every[every["seed"] == table["seed"].min()]
        if len(row):
            _fit_line(
                ax,
                x,
                row["slope"].iloc[0],
                row["intercept"].iloc[0],
                color=colour,
                lw=1.4,
                label=f"ρ = {rho}: slope {mean_sd_text(every['slope'])}",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    tidy_log_axes(ax)
    ax.set_xlabel(r"$\sigma^2_{post}$, VI fitted from the network's $\mu$")
    ax.set_ylabel(r"learnt variance $\sigma^2$")
    ax.set_title("(d) beyond the paper: learnt σ² vs VI")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(frameon=False, fontsize=5.5, loc="upper left", markerscale=4)


def _slopes_panel(ax, table: pd.DataFrame) -> None:
    """(e): fitted slopes at c = s^ρ/ρ, mean ± sd over seeds, against 2/(ρ+2) (Eq. 54c)."""
    at_base = table[np.isclose(table["c_factor"], 1.0)]
    for comparison, label, marker in (
        ("trained_vs_vi", "learnt σ² on VI σ²_post", "o"),
        ("trained_vs_laplace", "learnt σ² on 1/H", "s"),
    ):
        rows = at_base[at_base["comparison"] == comparison]
        summary = rows.groupby("rho_value")["slope"].agg(["mean", "std"]).reset_index()
        ax.errorbar(
            summary["rho_value"],
            summary["mean"],
            yerr=summary["std"].fillna(0),
            marker=marker,
            ms=3,
            lw=0.8,
            capsize=2,
            label=label,
        )
    grid = np.linspace(0.3, 2.2, 50)
    ax.plot(grid, 2 / (grid + 2), color=ANALYTIC_COLOUR, ls="--", label="2/(ρ+2) (Eq. 54c)")
    ax.axhline(1.0, color="0.6", lw=0.6)
    ax.set_xlabel("ρ")
    ax.set_ylabel("slope of the logs")
    ax.set_title("(e) slopes, mean ± sd over seeds")
    shown = at_base[at_base["comparison"].isin(["trained_vs_vi", "trained_vs_laplace"])]["slope"]
    ax.set_ylim(min(0.0, float(shown.min()) - 0.1), max(1.35, float(shown.max()) + 0.15))
    ax.legend(frameon=False, fontsize=5.5, loc="upper right")


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
    nets = _networks(arrays)
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
                label=f"simulated: {mean_sd_text(rows['slope'])}",
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
            if quantity == "input_sq":
                # ⟨x²⟩ spans about a decade around 1: "0.2 0.5 1 2" fits where 2×10⁻¹ does not
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.legend(frameon=False, fontsize=5, loc="best")
            if i == 0:
                ax.set_title(rho_title(rho))
            if j == 0:
                ax.set_ylabel(r"$\sigma^2$")
            ax.set_xlabel(label)
    fig.tight_layout()
    save_figure(fig, pdf, png)
