"""Figures 2 and 3: the performance-reliability cost tradeoff across c."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..tables import seed_summary
from .style import NOISE_COLOURS, NOISE_LABELS, apply_style, rho_title, save_figure, tidy_log_axes

METRICS = ["test_accuracy_sampled", "sigma_rms", "reliability_cost_s1"]


def _prepare(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    summary = seed_summary(table, METRICS)
    rhos = table[["rho", "rho_value"]].drop_duplicates().sort_values("rho_value")["rho"].tolist()
    return summary, rhos


def _band(ax, x, mean, low, high, colour, label, logy=False):
    ax.plot(x, mean, "-o", color=colour, ms=2.5, lw=1.2, label=label)
    ax.fill_between(x, low, high, color=colour, alpha=0.25, lw=0)


def _noise_groups(summary: pd.DataFrame, rho: str):
    for noise in ("heterogeneous", "homogeneous"):
        group = summary[(summary["rho"] == rho) & (summary["noise"] == noise)]
        if len(group):
            yield noise, group.sort_values("c")


def plot_fig2(table: pd.DataFrame, pdf, png) -> None:
    """(a) accuracy and (b) RMS σ against c; columns ρ; lines: mean, bands: seed range."""
    apply_style()
    summary, rhos = _prepare(table)
    fig, axes = plt.subplots(2, len(rhos), figsize=(2.0 * len(rhos) + 0.6, 4.2), squeeze=False)
    for j, rho in enumerate(rhos):
        ax_acc, ax_sig = axes[0, j], axes[1, j]
        for noise, g in _noise_groups(summary, rho):
            col, lab = NOISE_COLOURS[noise], NOISE_LABELS[noise]
            acc = "test_accuracy_sampled"
            _band(ax_acc, g["c"], g[f"{acc}_mean"], g[f"{acc}_min"], g[f"{acc}_max"], col, lab)
            sig = "sigma_rms"
            _band(ax_sig, g["c"], g[f"{sig}_mean"], g[f"{sig}_min"], g[f"{sig}_max"], col, lab)
        ax_acc.set_title(rho_title(rho))
        for ax in (ax_acc, ax_sig):
            ax.set_xscale("log")
            ax.set_xlabel("reliability cost multiplier c")
        ax_sig.set_yscale("log")
        tidy_log_axes(ax_acc)
        tidy_log_axes(ax_sig)
        if j == 0:
            ax_acc.set_ylabel("test accuracy (sampled weights)")
            ax_sig.set_ylabel("RMS synaptic σ")
            ax_acc.legend(frameon=False, loc="lower left")
    axes[0, 0].text(-0.45, 1.08, "a", transform=axes[0, 0].transAxes, weight="bold", size=10)
    axes[1, 0].text(-0.45, 1.08, "b", transform=axes[1, 0].transAxes, weight="bold", size=10)
    fig.tight_layout()
    save_figure(fig, pdf, png)


def plot_fig3(table: pd.DataFrame, pdf, png) -> None:
    """(a) accuracy vs σ, (b) reliability cost (s = 1) vs σ, (c) accuracy vs reliability cost."""
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
    for j, rho in enumerate(rhos):
        for i, (xcol, ycol, logx, logy) in enumerate(panels):
            ax = axes[i, j]
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
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            tidy_log_axes(ax)
            ax.set_xlabel(labels[xcol])
            if j == 0:
                ax.set_ylabel(labels[ycol])
        axes[0, j].set_title(rho_title(rho))
    axes[0, 0].legend(frameon=False, loc="lower left")
    for i, letter in enumerate("abc"):
        axes[i, 0].text(-0.45, 1.08, letter, transform=axes[i, 0].transAxes, weight="bold", size=10)
    fig.tight_layout()
    save_figure(fig, pdf, png)
