"""The drift figure: silent units and where σ grows, per epoch, one line per network."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .style import apply_style, plt, save_figure, tidy_log_axes

# Hidden layers whose silent units are drawn (the paper's 784-100-100-10 has two).
LAYER_STYLES = {1: "-", 2: "--"}


def network_label(row) -> str:
    """'het ρ=2 c=1 s0' (variant when not the Methods')."""
    variant = "" if row["variant"] == "methods" else f" [{row['variant']}]"
    return f"{row['noise'][:3]} ρ={row['rho']} c={row['c']:.3g} s{row['seed']}{variant}"


def drift_series(history: pd.DataFrame) -> pd.DataFrame:
    """The epochs at which the drift measurements were recorded (every
    ``training.history_test_every`` epochs and the last)."""
    if "silent_units_layer1" not in history.columns:
        return history.iloc[0:0]
    return history.dropna(subset=["silent_units_layer1"])


def plot_drift(history: pd.DataFrame, pdf, png) -> None:
    """Per recorded epoch and network: (a) silent hidden units at w = μ (layer 1 solid,
    layer 2 dashed), (b) RMS σ of the live weights, (c) RMS σ of the weights touching a
    silent unit, (d) test accuracy with sampled weights. One colour per network."""
    apply_style()
    recorded = drift_series(history)
    keys = ["variant", "noise", "rho", "c", "seed"]
    fig, axes = plt.subplots(1, 4, figsize=(10.0, 3.2))
    if recorded.empty:
        for ax in axes:
            ax.text(
                0.5,
                0.5,
                "no drift measurements recorded",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=7,
            )
        save_figure(fig, pdf, png)
        return
    recorded = recorded.assign(rho=recorded["rho"].astype(str))
    groups = list(recorded.groupby(keys, sort=True))
    colours = plt.cm.tab10(np.linspace(0, 1, 10))
    for n, (_, g) in enumerate(groups):
        g = g.sort_values("epoch")
        colour = colours[n % 10]
        label = network_label(g.iloc[0])
        for layer, ls in LAYER_STYLES.items():
            column = f"silent_units_layer{layer}"
            if column in g:
                axes[0].plot(g["epoch"], g[column], ls=ls, color=colour, lw=1, marker="o", ms=2)
        axes[1].plot(
            g["epoch"], g["sigma_rms_live"], color=colour, lw=1, marker="o", ms=2, label=label
        )
        axes[2].plot(
            g["epoch"], g["sigma_rms_silent_touching"], color=colour, lw=1, marker="o", ms=2
        )
        axes[3].plot(g["epoch"], g["test_accuracy_sampled"], color=colour, lw=1, marker="o", ms=2)
    axes[0].set_ylabel(
        "silent hidden units (never active at w = μ\non the training set; solid layer 1, dashed 2)"
    )
    axes[0].set_title("a  silent units", loc="left")
    axes[1].set_ylabel("RMS σ")
    axes[1].set_title("b  weights of live units", loc="left")
    axes[2].set_ylabel("RMS σ")
    axes[2].set_title("c  weights touching a silent unit", loc="left")
    axes[3].set_ylabel("test accuracy (sampled weights)")
    axes[3].set_title("d  accuracy", loc="left")
    axes[3].set_ylim(0, 1)
    axes[3].axhline(0.1, color="k", lw=0.5, ls=":")  # chance level
    for ax in axes[1:3]:
        if (recorded[["sigma_rms_live", "sigma_rms_silent_touching"]] > 0).any().any():
            ax.set_yscale("log")
            tidy_log_axes(ax)
    low, high = axes[1].get_ylim()
    low2, high2 = axes[2].get_ylim()
    if axes[1].get_yscale() == "log":  # the same σ axis in b and c, to compare them
        for ax in axes[1:3]:
            ax.set_ylim(min(low, low2), max(high, high2))
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(
        *axes[1].get_legend_handles_labels(),
        loc="lower center",
        ncol=min(4, len(groups)),
        frameon=False,
        fontsize=6,
    )
    rows = int(np.ceil(len(groups) / 4))
    fig.tight_layout(rect=(0, 0.05 + 0.04 * rows, 1, 1))
    save_figure(fig, pdf, png)
