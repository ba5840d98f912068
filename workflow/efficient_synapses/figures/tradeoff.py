"""Figures 2 and 3: the performance-reliability cost tradeoff across c."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.transforms import blended_transform_factory

from ..training.tables import seed_summary
from .style import (
    NOISE_COLOURS,
    NOISE_LABELS,
    NOISE_LINES,
    NOISE_MARKERS,
    add_c_colourbar,
    apply_style,
    c_colour,
    integer_epoch_axis,
    noise_legend_handles,
    rho_title,
    save_figure,
    span_at_least,
    tidy_log_axes,
)

METRICS = ["test_accuracy_sampled", "sigma_rms", "reliability_cost_s1"]


DIVERGED_MARKER = {"marker": "x", "color": "#c0392b", "ms": 5, "mew": 1.2, "ls": "none"}


def _diverged(table: pd.DataFrame) -> pd.Series:
    """Rows of networks whose training diverged (column absent in older tables: none)."""
    if "diverged" not in table:
        return pd.Series(False, index=table.index)
    return table["diverged"].fillna(False).astype(bool)


def _prepare(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Seed summary of the networks that trained to the end; diverged ones are drawn apart."""
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    summary = seed_summary(table[~_diverged(table)], METRICS)
    rhos = table[["rho", "rho_value"]].drop_duplicates().sort_values("rho_value")["rho"].tolist()
    return summary, rhos


def _mark_diverged(ax, rows: pd.DataFrame, xcol: str, ycol: str, corner: str = "lower left") -> int:
    """Draw diverged networks as red crosses: at their value where it is finite, else on
    the bottom edge of the panel at their x. Returns how many were drawn."""
    if rows.empty:
        return 0
    x = rows[xcol].astype(float).to_numpy()
    y = rows[ycol].astype(float).to_numpy()
    finite = np.isfinite(x) & np.isfinite(y)
    ax.plot(x[finite], y[finite], **DIVERGED_MARKER)
    edge = np.isfinite(x) & ~np.isfinite(y)
    if edge.any():
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(
            x[edge], np.full(edge.sum(), 0.03), transform=trans, clip_on=False, **DIVERGED_MARKER
        )
    unplaced = int((~np.isfinite(x)).sum())
    note = f"× diverged: {len(rows)}" + (f" ({unplaced} not placeable)" if unplaced else "")
    # A corner where the curves seldom are (accuracy: lower left; σ: upper left).
    top = corner.startswith("upper")
    ax.text(
        0.03,
        0.97 if top else 0.03,
        note,
        transform=ax.transAxes,
        ha="left",
        va="top" if top else "bottom",
        size=6,
        color=DIVERGED_MARKER["color"],
    )
    return len(rows)


def trivial_bounds(table: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Per (noise, ρ): the largest c_θ of its trained networks, below which some trained
    state is cheaper than every trivial network (chance_bound.trivial_optimum_lower_bound).
    Only values inside the range of c the table covers: a bound far outside it (a network
    barely better than chance gives c_θ near 0) says nothing about the curves drawn."""
    column = "c_beats_trivial_below"
    if column not in table:
        return {}
    ok = table[~_diverged(table)].dropna(subset=[column])
    low, high = table["c"].min(), table["c"].max()
    out = {}
    for (noise, rho), g in ok.groupby(["noise", "rho"]):
        bound = float(g[column].max())
        if low <= bound <= high:
            out[(noise, str(rho))] = bound
    return out


def _band(ax, x, mean, low, high, colour, label):
    ax.plot(x, mean, "-o", color=colour, ms=2.5, lw=1.2, label=label)
    ax.fill_between(x, low, high, color=colour, alpha=0.25, lw=0)


# The authors' curve of each noise setting: dashed, in the colour of ours.
PUBLISHED_STYLE = {"ls": (0, (4, 2)), "lw": 1.0, "zorder": 5, "alpha": 0.9}


def published_label(noise: str) -> str:
    return f"published, {NOISE_LABELS[noise]}"


def _published_lines(ax, published: pd.DataFrame | None, rho: str, xcol: str, ycol: str):
    """The authors' curves (efficient_synapses.data.published.fig23_table) of ρ on ``ax``:
    per noise setting a dashed line in the colour of ours, named in the legend."""
    if published is None:
        return
    at_rho = published[published["rho"].astype(str) == rho]
    for noise, g in at_rho.groupby("noise", sort=True):
        g = g.sort_values("c")
        ax.plot(g[xcol], g[ycol], color=NOISE_COLOURS[noise], label=published_label(noise),
                **PUBLISHED_STYLE)  # fmt: skip


def _noise_groups(summary: pd.DataFrame, rho: str):
    for noise in ("heterogeneous", "homogeneous"):
        group = summary[(summary["rho"] == rho) & (summary["noise"] == noise)]
        if len(group):
            yield noise, group.sort_values("c")


def plot_fig2(table: pd.DataFrame, pdf, png, published: pd.DataFrame | None = None) -> None:
    """(a) accuracy and (b) RMS σ against c; columns ρ; lines: mean, bands: seed range;
    ``published`` (``published.fig23_table``): the authors' curves, dashed in the colour of
    ours."""
    apply_style()
    summary, rhos = _prepare(table)
    table = table.assign(rho=table["rho"].astype(str))
    diverged = _diverged(table)
    bounds = trivial_bounds(table)
    fig, axes = plt.subplots(2, len(rhos), figsize=(2.0 * len(rhos) + 0.6, 4.2), squeeze=False)
    for j, rho in enumerate(rhos):
        ax_acc, ax_sig = axes[0, j], axes[1, j]
        for noise, g in _noise_groups(summary, rho):
            col, lab = NOISE_COLOURS[noise], NOISE_LABELS[noise]
            acc = "test_accuracy_sampled"
            _band(ax_acc, g["c"], g[f"{acc}_mean"], g[f"{acc}_min"], g[f"{acc}_max"], col, lab)
            sig = "sigma_rms"
            _band(ax_sig, g["c"], g[f"{sig}_mean"], g[f"{sig}_min"], g[f"{sig}_max"], col, lab)
        _published_lines(ax_acc, published, rho, "c", "test_accuracy_sampled")
        _published_lines(ax_sig, published, rho, "c", "sigma_rms")
        for noise in ("heterogeneous", "homogeneous"):
            bound = bounds.get((noise, rho))
            if bound is not None:
                # Below this c some trained state is cheaper than every trivial network,
                # so the trivial network cannot be the global optimum there. Beyond it the
                # bound shows nothing either way (chance_bound).
                trans = blended_transform_factory(ax_acc.transData, ax_acc.transAxes)
                ax_acc.plot(
                    [bound],
                    [1.0],
                    marker="v",
                    ms=5,
                    color=NOISE_COLOURS[noise],
                    transform=trans,
                    clip_on=False,
                    ls="none",
                    label="no trivial network cheaper below" if noise == "heterogeneous" else None,
                )
                ax_acc.axvline(bound, color=NOISE_COLOURS[noise], ls=":", lw=0.8)
        rows = table[(table["rho"] == rho) & diverged]
        _mark_diverged(ax_acc, rows, "c", "test_accuracy_sampled")
        _mark_diverged(ax_sig, rows, "c", "sigma_rms", corner="upper left")
        ax_acc.set_title(rho_title(rho))
        ax_acc.set_ylim(0, 1)  # accuracy on its full scale: a few networks autoscale badly
        for ax in (ax_acc, ax_sig):
            ax.set_xscale("log")
            ax.set_xlabel("reliability cost multiplier c")
        ax_sig.set_yscale("log")
        tidy_log_axes(ax_acc)
        tidy_log_axes(ax_sig)
        if j == 0:
            ax_acc.set_ylabel("test accuracy (sampled weights)")
            ax_sig.set_ylabel("RMS synaptic σ")
    # Below the panels: inside one, the legend hides the networks at chance level.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    ncol = 3 if len(labels) > 3 else len(labels)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    axes[0, 0].text(-0.45, 1.08, "a", transform=axes[0, 0].transAxes, weight="bold", size=10)
    axes[1, 0].text(-0.45, 1.08, "b", transform=axes[1, 0].transAxes, weight="bold", size=10)
    fig.tight_layout(rect=(0, 0.04 * -(-len(labels) // ncol) + 0.01, 1, 1))
    save_figure(fig, pdf, png)


def plot_fig3(table: pd.DataFrame, pdf, png, published: pd.DataFrame | None = None) -> None:
    """(a) accuracy vs σ, (b) reliability cost (s = 1) vs σ, (c) accuracy vs reliability cost;
    ``published``: the authors' curves, dashed in the colour of ours."""
    apply_style()
    summary, rhos = _prepare(table)
    fig, axes = plt.subplots(3, len(rhos), figsize=(2.0 * len(rhos) + 0.6, 6.0), squeeze=False)
    acc, sig, rel = "test_accuracy_sampled", "sigma_rms", "reliability_cost_s1"
    panels = [(sig, acc, True, False), (sig, rel, True, True), (rel, acc, True, False)]
    labels = {
        acc: "test accuracy (sampled weights)",
        sig: "RMS synaptic σ",
        rel: "reliability cost (s = 1)",
    }
    table = table.assign(rho=table["rho"].astype(str))
    diverged = _diverged(table)
    for j, rho in enumerate(rhos):
        for i, (xcol, ycol, logx, logy) in enumerate(panels):
            ax = axes[i, j]
            _mark_diverged(ax, table[(table["rho"] == rho) & diverged], xcol, ycol)
            for noise, g in _noise_groups(summary, rho):
                col = NOISE_COLOURS[noise]
                ax.errorbar(
                    g[f"{xcol}_mean"],
                    g[f"{ycol}_mean"],
                    xerr=g[f"{xcol}_std"].fillna(0),
                    yerr=g[f"{ycol}_std"].fillna(0),
                    fmt="-o",
                    ms=2.5,
                    lw=1.2,
                    elinewidth=0.6,
                    color=col,
                    label=NOISE_LABELS[noise],
                )
            _published_lines(ax, published, rho, xcol, ycol)
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            tidy_log_axes(ax)
            ax.set_xlabel(labels[xcol])
            if j == 0:
                ax.set_ylabel(labels[ycol])
        axes[0, j].set_title(rho_title(rho))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    ncol = 3 if len(labels) > 3 else len(labels)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    for i, letter in enumerate("abc"):
        axes[i, 0].text(-0.45, 1.08, letter, transform=axes[i, 0].transAxes, weight="bold", size=10)
    fig.tight_layout(rect=(0, 0.025 * -(-len(labels) // ncol) + 0.01, 1, 1))
    save_figure(fig, pdf, png)


def plot_training_history(history: pd.DataFrame, pdf, png) -> None:
    """Per-epoch history of every network: (a) RMS σ every epoch, (b) sampled test
    accuracy where recorded; columns ρ; one line per (noise, c), its colour c on a colour
    bar, solid heterogeneous and dashed homogeneous noise, the mean over seeds with their
    range as a band (a single recorded epoch: points with bars)."""
    apply_style()
    history = history.assign(rho=history["rho"].astype(str))
    rhos = history[["rho", "rho_value"]].drop_duplicates().sort_values("rho_value")["rho"].tolist()
    cs = np.sort(history["c"].unique())
    epochs = np.sort(history["epoch"].unique())
    fig, axes = plt.subplots(
        2, len(rhos), figsize=(2.3 * len(rhos) + 1.2, 4.6), squeeze=False, sharex=True
    )
    for j, rho in enumerate(rhos):
        at_rho = history[history["rho"] == rho]
        for (noise, c), g in at_rho.groupby(["noise", "c"]):
            colour = c_colour(c, cs)
            for i, column in enumerate(["sigma_rms", "test_accuracy_sampled"]):
                stats = g.groupby("epoch")[column].agg(["mean", "min", "max"]).dropna()
                ax = axes[i, j]
                if len(stats) == 1:
                    ax.errorbar(stats.index, stats["mean"],
                                yerr=[stats["mean"] - stats["min"], stats["max"] - stats["mean"]],
                                fmt=NOISE_MARKERS[noise], color=colour, ms=3,
                                elinewidth=0.6)  # fmt: skip
                else:
                    ax.plot(stats.index, stats["mean"], color=colour, lw=1,
                            ls=NOISE_LINES[noise], marker=NOISE_MARKERS[noise] if i else None,
                            ms=2)  # fmt: skip
                    ax.fill_between(stats.index, stats["min"], stats["max"], color=colour,
                                    alpha=0.15, lw=0)  # fmt: skip
        axes[0, j].set_yscale("log")
        span_at_least(axes[0, j])
        tidy_log_axes(axes[0, j], plain="short")
        axes[0, j].set_title(rho_title(rho))
        axes[1, j].set_ylim(0, 1)
        axes[1, j].axhline(0.1, color="k", lw=0.5, ls=":")  # chance level
        axes[1, j].set_xlabel("epoch")
        integer_epoch_axis(axes[1, j], epochs)
    axes[0, 0].set_ylabel("RMS synaptic σ")
    axes[1, 0].set_ylabel("test accuracy\n(sampled weights)")
    single = len(epochs) == 1
    fig.legend(handles=noise_legend_handles(points=single), loc="lower left", ncol=2,
               frameon=False, fontsize=7)  # fmt: skip
    fig.tight_layout(rect=(0, 0.06, 0.9, 1))
    add_c_colourbar(fig, cs, rect=(0.92, 0.15, 0.012, 0.7))
    save_figure(fig, pdf, png)
