"""One style for every figure of the workflow."""

from __future__ import annotations

import contextlib
import contextvars
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogFormatterSciNotation,
    LogLocator,
    NullFormatter,
    NullLocator,
)

from ..statistics import mean_sd  # noqa: E402

# The paper's colours: green for optimised heterogeneous noise, grey for homogeneous.
NOISE_COLOURS = {"heterogeneous": "#2e8b57", "homogeneous": "#808080"}
NOISE_LABELS = {"heterogeneous": "heterogeneous σ", "homogeneous": "homogeneous σ"}

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
    """ "ρ = 2/3 (vesicle membrane)": ρ as written and its mechanism (Appendix 1), if any."""
    from ..costs import mechanism_of

    mechanism = mechanism_of(rho)
    return f"ρ = {rho}" + (f" ({mechanism})" if mechanism else "")


# Log axes longer than this many decades get no minor ticks (unlabelled, they only
# cluttered long axes, and laying them out was most of a scatter figure's drawing time).
LONG_AXIS_DECADES = 2.5


def occupied_range(
    values: list[np.ndarray], low: float = 1.0, high: float = 99.0
) -> tuple[float, float, int, int]:
    """The ``low``-th to ``high``-th percentile of the pooled positive finite values, and
    how many of those values fall outside it out of how many. A few synapses with a
    vanishing H_ii (those of silent units) would otherwise stretch a log axis over a dozen
    and more decades and squeeze every other synapse into its last few."""
    pooled = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values])
    if pooled.size == 0:
        raise ValueError("occupied_range: no positive finite value to span")
    lo, hi = np.percentile(pooled, [low, high])
    outside = int(((pooled < lo) | (pooled > hi)).sum())
    return float(lo), float(hi), outside, int(pooled.size)


def tidy_log_axes(ax, short_decades: float = 1.5, plain: str = "never") -> None:
    """Readable log axes: decades only, or 1-2-5 steps on axes spanning under
    ``short_decades`` decades. Labels are powers of ten, or plain numbers (0.2, 50) on
    short axes (``plain="short"``) or on every axis (``plain="always"``).

    Matplotlib's default labels minor ticks on short ranges, where they collide.
    """
    if plain not in ("never", "short", "always"):
        raise ValueError(f"plain must be 'never', 'short' or 'always', got {plain!r}")
    for axis, scale, lims in (
        (ax.xaxis, ax.get_xscale(), ax.get_xlim()),
        (ax.yaxis, ax.get_yscale(), ax.get_ylim()),
    ):
        if scale != "log":
            continue
        short = np.log10(max(lims) / min(lims)) < short_decades
        subs = (1.0, 2.0, 5.0) if short else (1.0,)
        # at most about six labelled ticks: every other decade on long axes
        axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=6))
        if plain == "always" or (plain == "short" and short):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        elif short:
            # every major tick labelled (LogFormatterSciNotation leaves some out)
            axis.set_major_formatter(FuncFormatter(lambda v, _: _power_of_ten_label(v)))
        else:
            axis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=True))
        axis.set_minor_formatter(NullFormatter())
        if np.log10(max(lims) / min(lims)) > LONG_AXIS_DECADES:
            axis.set_minor_locator(NullLocator())


def _power_of_ten_label(value: float) -> str:
    """'$10^{-1}$' or '$2\\times10^{-1}$' for a positive tick value."""
    if not value > 0:
        return ""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    mantissa = value / 10.0**exponent
    if abs(mantissa - round(mantissa)) < 1e-6:
        mantissa = round(mantissa)
    prefix = "" if mantissa == 1 else f"{mantissa:g}\\times"
    return f"${prefix}10^{{{exponent}}}$"


def mean_sd_text(values, digits: int = 2) -> str:
    """'mean ± sd' of ``values`` (sd with ddof = 1), or the mean alone for one value."""
    mean, sd = mean_sd(values)
    if np.size(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


# The run a figure of trained networks comes from (its training variant), stamped under
# the figure by ``save_figure`` while ``run_label`` is active.
_RUN_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_label", default=None)


@contextlib.contextmanager
def run_label(text: str | None):
    """Within this block, every saved figure carries ``variant: <text>`` under its panels
    (a figure of trained networks says which training variant it shows)."""
    token = _RUN_LABEL.set(text)
    try:
        yield
    finally:
        _RUN_LABEL.reset(token)


def save_figure(fig, pdf: str | Path, png: str | Path) -> None:
    """Write the figure as PDF and PNG, then close it; under the panels, the run's label
    (``run_label``), if any: below the figure's own area, so it overlaps nothing."""
    label = _RUN_LABEL.get()
    if label:
        fig.text(0.995, -0.005, f"variant: {label}", ha="right", va="top", fontsize=6,
                 color="0.4")  # fmt: skip
    for path in (pdf, png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
