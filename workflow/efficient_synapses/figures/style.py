"""One style for every figure of the workflow."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The paper's colours: green for optimised heterogeneous noise, grey for homogeneous.
NOISE_COLOURS = {"heterogeneous": "#2e8b57", "homogeneous": "#808080"}
NOISE_LABELS = {"heterogeneous": "heterogeneous σ", "homogeneous": "homogeneous σ"}
RHO_MECHANISM = {
    "1/2": "calcium efflux",
    "2/3": "vesicle membrane",
    "4/3": "actin",
    "2": "trafficking",
}

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 200,
    "pdf.fonttype": 42,
}


def apply_style() -> None:
    plt.rcParams.update(STYLE)


def rho_title(rho: str) -> str:
    mechanism = RHO_MECHANISM.get(rho)
    return f"ρ = {rho}" + (f" ({mechanism})" if mechanism else "")


def tidy_log_axes(ax) -> None:
    """Readable log axes: decades only, or 1-2-5 steps on ranges under 1.5 decades.

    Matplotlib's default labels minor ticks on short ranges, where they collide.
    """
    import numpy as np
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    for axis, scale, lims in (
        (ax.xaxis, ax.get_xscale(), ax.get_xlim()),
        (ax.yaxis, ax.get_yscale(), ax.get_ylim()),
    ):
        if scale != "log":
            continue
        short = np.log10(max(lims) / min(lims)) < 1.5
        subs = (1.0, 2.0, 5.0) if short else (1.0,)
        axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=8))
        axis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=not short))
        axis.set_minor_formatter(NullFormatter())


def save_figure(fig, pdf: str | Path, png: str | Path) -> None:
    """Write the figure as PDF and PNG, then close it."""
    for path in (pdf, png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
