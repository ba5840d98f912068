"""Figure 1: binomial PSP distributions (b) and the four reliability costs (c). Draws only."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .style import NOISE_COLOURS, apply_style, save_figure, tidy_log_axes

COLOUR = NOISE_COLOURS["heterogeneous"]
ROMAN = ("I", "II", "III", "IV")
VARIED = {"calcium efflux": "p", "vesicle membrane": "n", "actin": "n", "trafficking": "n"}


def plot_fig1(arrays, pdf, png) -> None:
    """(b) PSP amplitude distributions at fixed mean; (c) cost against σ, fitted and analytic ρ."""
    apply_style()
    fig, axes = plt.subplots(2, 4, figsize=(7.2, 4.5), gridspec_kw={"hspace": 0.8, "wspace": 0.45})
    cases = sorted(k[: -len("_amplitude")] for k in arrays if k.endswith("_amplitude"))
    top = max(float(arrays[f"{c}_amplitude"].max()) for c in cases)
    for ax, case in zip(axes[0], cases, strict=True):
        amplitude, probability = arrays[f"{case}_amplitude"], arrays[f"{case}_probability"]
        n, p, mean, sigma = arrays[f"{case}_n_p_mean_sigma"]
        markerline, stemlines, baseline = ax.stem(amplitude, probability, basefmt=" ")
        plt.setp(stemlines, color=COLOUR, lw=1.5)
        plt.setp(markerline, color=COLOUR, ms=3)
        ax.axvline(mean, color="k", lw=0.8, ls="--")
        ax.set_title(f"n = {int(n)}, p = {p:g}\nq = {mean / (n * p):.3g}, σ = {sigma:.2f}")
        ax.set_xlim(-0.1 * top, 1.05 * top)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("PSP amplitude (units of μ)")
    axes[0, 0].set_ylabel("probability")
    axes[0, 0].text(
        -0.1,
        1.42,
        "binomial model (Eq. 1) at a fixed mean μ = npq = 1 (dashed): larger n or p, smaller σ",
        transform=axes[0, 0].transAxes,
    )

    mechanisms = [str(m) for m in arrays["mechanisms"]]
    for k, (ax, mechanism) in enumerate(zip(axes[1], mechanisms, strict=True)):
        sigma, cost = arrays[f"c{k}_sigma"], arrays[f"c{k}_cost"]
        fitted, log_prefactor = arrays[f"c{k}_fit"]
        line_sigma = np.geomspace(sigma.min(), sigma.max(), 100)
        ax.plot(
            line_sigma,
            np.exp(log_prefactor) * line_sigma ** (-fitted),
            color="k",
            lw=0.9,
            label="fit",
        )
        ax.plot(sigma, cost, "o", color=COLOUR, ms=2.5, label=f"model, vary {VARIED[mechanism]}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # Plain labels: 1-2-5 steps under two decades, else decades.
        tidy_log_axes(ax, short_decades=2.0, plain="always")
        ax.set_title(f"{ROMAN[k]}. {mechanism}")
        ax.text(
            0.96,
            0.96,
            f"fit: ρ = {fitted:.3f}\nAppendix 1: ρ = {arrays['rho_label'][k]}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=6.5,
        )
        ax.set_xlabel("PSP σ (units of μ)")
        ax.legend(frameon=False, loc="lower left", fontsize=6)
    axes[1, 0].set_ylabel("cost (arbitrary units)")
    axes[0, 0].text(-0.45, 1.42, "b", transform=axes[0, 0].transAxes, weight="bold", size=10)
    axes[1, 0].text(-0.45, 1.12, "c", transform=axes[1, 0].transAxes, weight="bold", size=10)
    save_figure(fig, pdf, png)
