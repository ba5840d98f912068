"""The drift figure: silent units and where σ grows, per epoch, readable at any run size.

Rows: ρ; columns: (a) silent hidden units, (b) RMS σ of the weights of live units, (c) RMS
σ of the weights touching a silent unit, (d) sampled test accuracy. One line per (noise
setting, c): coloured by c on a colour bar, solid for heterogeneous and dashed for
homogeneous noise, the mean over seeds with the seeds' range as a band; a history of one
recorded epoch is drawn as points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .style import (
    NOISE_LINES,
    NOISE_MARKERS,
    add_c_colourbar,
    apply_style,
    c_colour,
    integer_epoch_axis,
    noise_legend_handles,
    plt,
    rho_title,
    save_figure,
    short_scientific,
    span_at_least,
    tidy_log_axes,
)

QUANTITIES = [
    ("silent_units", "silent hidden units\n(both layers, at w = μ)", "a  silent units", False),
    ("sigma_rms_live", "RMS σ", "b  weights of live units", True),
    ("sigma_rms_silent_touching", "RMS σ", "c  weights touching a silent unit", True),
    ("test_accuracy_sampled", "test accuracy\n(sampled weights)", "d  accuracy", False),
]


def drift_series(history: pd.DataFrame) -> pd.DataFrame:
    """The epochs at which the drift measurements were recorded (every
    ``training.history_test_every`` epochs and the last), with the silent units of every
    hidden layer added up (``silent_units``)."""
    if "silent_units_layer1" not in history.columns:
        return history.iloc[0:0]
    recorded = history.dropna(subset=["silent_units_layer1"]).copy()
    layers = [c for c in recorded.columns if c.startswith("silent_units_layer")]
    recorded["silent_units"] = recorded[layers].sum(axis=1)
    return recorded


def _seed_band(group: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per epoch: mean, min and max over the seeds of ``column``; an epoch without a value
    stays as NaN, so that a line breaks there instead of bridging the gap (panel c has no
    value while no unit is silent)."""
    return group.groupby("epoch")[column].agg(["mean", "min", "max"]).reset_index()


def plot_drift(history: pd.DataFrame, pdf, png) -> None:
    """The drift figure (see the module docstring) from training_history.csv."""
    apply_style()
    recorded = drift_series(history)
    if recorded.empty:
        fig, ax = plt.subplots(figsize=(4.0, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no drift measurements recorded", ha="center", va="center", size=8)
        save_figure(fig, pdf, png)
        return
    recorded = recorded.assign(rho=recorded["rho"].astype(str))
    rhos = recorded[["rho", "rho_value"]].drop_duplicates().sort_values("rho_value")["rho"]
    rhos = rhos.tolist()
    cs = np.sort(recorded["c"].unique())
    epochs = np.sort(recorded["epoch"].unique())
    single = len(epochs) == 1
    fig, axes = plt.subplots(
        len(rhos), 4, figsize=(10.0, 1.9 * len(rhos) + 0.9), squeeze=False, sharex=True
    )
    for i, rho in enumerate(rhos):
        at_rho = recorded[recorded["rho"] == rho]
        for (noise, c), group in at_rho.groupby(["noise", "c"]):
            colour = c_colour(c, cs)
            for j, (column, _, _, _) in enumerate(QUANTITIES):
                if column not in group:
                    continue
                band = _seed_band(group, column)
                ax = axes[i, j]
                if single:
                    band = band.dropna(subset=["mean"])
                    ax.errorbar(band["epoch"], band["mean"],
                                yerr=[band["mean"] - band["min"], band["max"] - band["mean"]],
                                fmt=NOISE_MARKERS[noise], color=colour, ms=3,
                                elinewidth=0.6)  # fmt: skip
                else:
                    ax.plot(band["epoch"], band["mean"], color=colour, lw=1,
                            ls=NOISE_LINES[noise])  # fmt: skip
                    ax.fill_between(band["epoch"], band["min"], band["max"], color=colour,
                                    alpha=0.15, lw=0)  # fmt: skip
        axes[i, 0].set_ylabel(f"{rho_title(rho)}\n{QUANTITIES[0][1]}", fontsize=7)
        for j, (column, ylabel, _, logy) in enumerate(QUANTITIES):
            ax = axes[i, j]
            if j > 0:
                ax.set_ylabel(ylabel, fontsize=7)
            if logy and (at_rho[column] > 0).any():
                ax.set_yscale("log")
                span_at_least(ax)
                tidy_log_axes(ax, plain="short")
        axes[i, 0].yaxis.set_major_locator(MaxNLocator(integer=True))
        axes[i, 3].set_ylim(0, 1)
        axes[i, 3].axhline(0.1, color="k", lw=0.5, ls=":")  # chance level
    for j, (_, _, title, _) in enumerate(QUANTITIES):
        axes[0, j].set_title(title, loc="left")
        axes[-1, j].set_xlabel("epoch")
        integer_epoch_axis(axes[-1, j], epochs)
    fig.legend(
        handles=noise_legend_handles(points=single)
        + (_band_handle(single) if recorded["seed"].nunique() > 1 else []),
        loc="lower left",
        ncol=3,
        frameon=False,
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.06, 0.9, 1))
    add_c_colourbar(fig, cs, rect=(0.92, 0.15, 0.012, 0.7))
    save_figure(fig, pdf, png)


def _band_handle(single: bool) -> list:
    from matplotlib.patches import Patch

    label = "bar: range over seeds" if single else "band: range over seeds"
    return [Patch(facecolor="0.6", alpha=0.3, label=label)]


def plot_lr_epochs(histories: pd.DataFrame, published: pd.DataFrame, pdf, png) -> None:
    """The learning rate x training length experiment: per network (columns: ρ, c and
    noise setting) its RMS σ and sampled test accuracy against learning rate x epoch, one
    line per learning rate (``histories``: the runs' training_history.csv with a column
    ``learning_rate``), the published value of its column as a horizontal dotted line.
    Where the lines of all rates fall on one another, the state at epoch e depends on the
    rates only through their product with e."""
    apply_style()
    histories = histories.assign(rho=histories["rho"].astype(str))
    histories = histories.assign(lr_x_epoch=histories["learning_rate"] * histories["epoch"])
    networks = (
        histories[["rho", "rho_value", "c", "noise"]]
        .drop_duplicates()
        .sort_values(["rho_value", "noise"])
        .itertuples(index=False)
    )
    networks = list(networks)
    rates = np.sort(histories["learning_rate"].unique())
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.8, len(rates)))
    pub = published.assign(log10_c=published["log10_c"].round(6)).set_index(
        ["rho", "noise", "log10_c"]
    )
    fig, axes = plt.subplots(2, len(networks), figsize=(2.0 * len(networks) + 0.6, 4.4),
                             squeeze=False, sharex=True)  # fmt: skip
    for j, net in enumerate(networks):
        at = histories[(histories["rho"] == net.rho) & (histories["c"] == net.c)
                       & (histories["noise"] == net.noise)]  # fmt: skip
        key = (net.rho, net.noise, round(float(np.log10(net.c)), 6))
        for rate, colour in zip(rates, colours, strict=True):
            g = at[at["learning_rate"] == rate].sort_values("epoch")
            axes[0, j].plot(g["lr_x_epoch"], g["sigma_rms"], color=colour, lw=1,
                            label=f"learning rate {short_scientific(rate)}")  # fmt: skip
            tested = g.dropna(subset=["test_accuracy_sampled"])
            axes[1, j].plot(tested["lr_x_epoch"], tested["test_accuracy_sampled"], color=colour,
                            lw=1)  # fmt: skip
        if key in pub.index:
            axes[0, j].axhline(pub.loc[key, "sigma_rms"], color="0.3", ls=":", lw=1)
            axes[1, j].axhline(pub.loc[key, "test_accuracy_sampled"], color="0.3", ls=":", lw=1,
                               label="published (its column)")  # fmt: skip
        log10_c = f"{np.log10(net.c):.2g}"
        axes[0, j].set_title(f"{rho_title(net.rho)}\nc = $10^{{{log10_c}}}$, {net.noise}",
                             fontsize=7)  # fmt: skip
        axes[0, j].set_yscale("log")
        axes[1, j].set_ylim(0, 1)
        axes[1, j].set_xlabel("learning rate × epoch")
        for i, ax in enumerate(axes[:, j]):
            ax.set_xscale("log")
            ax.axvline(1e-4 * 50, color="0.6", lw=0.6,
                       label="1e-4 × 50 epochs (the default)" if i == 0 else None)  # fmt: skip
    axes[0, 0].set_ylabel("RMS synaptic σ")
    axes[1, 0].set_ylabel("test accuracy\n(sampled weights)")
    handles, labels = [], []
    for ax in (axes[0, 0], axes[1, 0]):
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, loc="lower center", ncol=(len(labels) + 1) // 2, frameon=False,
               bbox_to_anchor=(0.5, -0.06))  # fmt: skip
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, pdf, png)
