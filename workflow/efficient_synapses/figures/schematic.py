"""Figure 4: homogeneous vs optimised heterogeneous noise on a 2-D quadratic cost. Draws only."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import NOISE_COLOURS, apply_style, save_figure

CONTOUR_COLOUR = "#7b3f9e"  # the paper's purple contours
SETTINGS = ("homogeneous", "heterogeneous")


def _curvature_panel(ax, axis, h, sigmas, name, importance):
    """1-D cost ½ H w² and the ±σ each noise setting gives this synapse."""
    ax.plot(axis, 0.5 * h * axis**2, color=CONTOUR_COLOUR, lw=1.3)
    top = 0.5 * max(h, 1.0) * axis.max() ** 2
    for k, setting in enumerate(SETTINGS):
        sigma = sigmas[setting]
        y = (0.12 + 0.1 * k) * top
        ax.errorbar(
            0,
            y,
            xerr=sigma,
            color=NOISE_COLOURS[setting],
            capsize=2,
            lw=1.3,
            label=f"±σ, {setting}",
        )
    ax.set_ylim(0, top)
    ax.set_xlim(axis.min(), axis.max())
    ax.set_xlabel(f"{name} − optimum")
    ax.set_title(f"{importance} synapse {name}\nH = {h:g}")
    ax.text(0.5, 0.3, "bars: ±σ", transform=ax.transAxes, ha="center", fontsize=6)


def plot_fig4(arrays, pdf, png) -> None:
    """(a, b) cost along each synapse; (c) contours and noise samples; (d) the average costs."""
    apply_style()
    h = arrays["hessian"]
    rho, s = arrays["rho_s"]
    axis, grid_cost = arrays["grid_axis"], arrays["grid_cost"]
    sigmas = {setting: arrays[f"sigma_{setting}"] for setting in SETTINGS}
    fig = plt.figure(figsize=(7.2, 4.4))
    spec = fig.add_gridspec(2, 3, hspace=0.65, wspace=0.5, width_ratios=(1.0, 1.0, 1.1))
    ax_a, ax_b = fig.add_subplot(spec[0, 0]), fig.add_subplot(spec[0, 1])
    ax_c = [fig.add_subplot(spec[1, k]) for k in range(2)]
    ax_d = fig.add_subplot(spec[:, 2])

    for ax, i, importance in ((ax_a, 0, "important"), (ax_b, 1, "unimportant")):
        per_setting = {setting: sigma[i] for setting, sigma in sigmas.items()}
        _curvature_panel(ax, axis, h[i], per_setting, f"w{i + 1}", importance)
    ax_a.set_ylabel("performance cost")

    levels = np.quantile(grid_cost, [0.02, 0.08, 0.2, 0.4, 0.65])
    for ax, setting in zip(ax_c, SETTINGS, strict=True):
        ax.contour(axis, axis, grid_cost, levels=levels, colors=CONTOUR_COLOUR, linewidths=0.7)
        w = arrays[f"samples_{setting}"]
        ax.plot(w[:, 0], w[:, 1], "o", color=NOISE_COLOURS[setting], ms=1.6, alpha=0.7)
        sigma = sigmas[setting]
        ax.set_title(
            f"{setting} noise\nσ = ({sigma[0]:.2f}, {sigma[1]:.2f})", color=NOISE_COLOURS[setting]
        )
        ax.set_aspect("equal")
        ax.set_xlim(axis.min(), axis.max())
        ax.set_ylim(axis.min(), axis.max())
        ax.set_xlabel("w1 (important)")
    ax_c[0].set_ylabel("w2 (unimportant)")

    # (d) stacked bars: reliability cost (hatched, equal by construction) + performance cost.
    x = np.arange(len(SETTINGS))
    costs = {setting: arrays[f"costs_{setting}"] for setting in SETTINGS}
    reliability = np.array([costs[k][3] for k in SETTINGS])
    expected = np.array([costs[k][0] for k in SETTINGS])
    sampled = np.array([costs[k][1] for k in SETTINGS])
    sem = np.array([costs[k][2] for k in SETTINGS])
    colours = [NOISE_COLOURS[k] for k in SETTINGS]
    ax_d.bar(x, reliability, color="white", edgecolor="k", hatch="///", lw=0.8, label="reliability")
    ax_d.bar(
        x,
        expected,
        bottom=reliability,
        color=colours,
        lw=0,
        label="performance (expected, ½ Σ H σ²)",
    )
    ax_d.errorbar(
        x,
        reliability + sampled,
        yerr=1.96 * sem,
        fmt="o",
        color="k",
        ms=3,
        capsize=2,
        label="performance, mean of samples (c) ± 1.96 SE",
    )
    for xi, e, r in zip(x, expected, reliability, strict=True):
        ax_d.text(xi, r + e / 2, f"{e:.3f}", ha="center", va="center", fontsize=7, color="white")
        ax_d.text(xi, r / 2, f"{r:.3f}", ha="center", va="center", fontsize=7, backgroundcolor="w")
    ax_d.set_xticks(x, [f"{k}\nnoise" for k in SETTINGS])
    for label, setting in zip(ax_d.get_xticklabels(), SETTINGS, strict=True):
        label.set_color(NOISE_COLOURS[setting])
    ax_d.set_ylabel("average cost")
    ax_d.set_ylim(0, float((reliability + sampled + 2 * sem).max()) * 1.35)
    ax_d.legend(frameon=False, loc="upper left", fontsize=6)
    ax_d.set_title(f"equal reliability cost\n(ρ = {rho:g}, s = {s:g})")

    for ax, letter, x_pos in (
        (ax_a, "a", -0.35),
        (ax_b, "b", -0.35),
        (ax_c[0], "c", -0.35),
        (ax_d, "d", -0.3),
    ):
        ax.text(
            x_pos,
            1.12 if letter != "d" else 1.05,
            letter,
            transform=ax.transAxes,
            weight="bold",
            size=10,
        )
    save_figure(fig, pdf, png)
