"""One style for every figure of the workflow."""

from __future__ import annotations

import contextlib
import contextvars
import os
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
# In figures of many networks the colour says c, the line style the noise setting.
NOISE_LINES = {"heterogeneous": "-", "homogeneous": "--"}
NOISE_MARKERS = {"heterogeneous": "o", "homogeneous": "s"}  # a history of one epoch
C_COLOURMAP = "viridis"

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


def short_scientific(value: float) -> str:
    """5e-05 -> '5e-5', 0.0046 -> '4.6e-3': one significant decimal, no padding."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


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


# A legend with more entries than this cannot be read at a glance: a figure with many
# networks labels them by colour bar and line style instead.
MAX_LEGEND_ENTRIES = 12
# With this set (the integration test sets it), saving a figure checks that it can be read
# (``legibility_problems``) and stops with an error that names the figure and the problem.
CHECK_ENV = "EFFICIENT_SYNAPSES_CHECK_FIGURES"


class FigureLegibilityError(ValueError):
    """A figure whose legend is too long or whose text overlaps another panel."""


def _drawn_ticklabels(axis, view) -> list:
    """The tick labels of ``axis`` that are drawn: those of ticks inside the view interval
    (matplotlib keeps labels of ticks beyond it, at positions it never draws)."""
    low, high = sorted(view)
    span = (high - low) * 1e-9
    index = 0 if axis.axis_name == "x" else 1
    return [
        t for t in axis.get_ticklabels() if low - span <= t.get_position()[index] <= high + span
    ]


def _axes_texts(ax) -> list:
    """The texts that belong to one axes: titles, axis labels, the drawn tick labels and
    annotations."""
    texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
    texts += _drawn_ticklabels(ax.xaxis, ax.get_xlim()) + _drawn_ticklabels(ax.yaxis, ax.get_ylim())
    texts += list(ax.texts)
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def _shrunk(box, pixels: float = 1.0):
    """The box without its outer pixel: texts that only touch are not counted."""
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(box.x0 + pixels, box.y0 + pixels, box.x1 - pixels, box.y1 - pixels)


def legibility_problems(fig, max_legend_entries: int = MAX_LEGEND_ENTRIES) -> list[str]:
    """What makes ``fig`` hard to read: a legend of more than ``max_legend_entries``
    entries; a text of one axes (title, label, tick label, annotation) over another axes'
    panel or over one of its texts. Measured with the renderer's window extents."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    for legend in legends:
        n = len([t for t in legend.get_texts() if t.get_text().strip()])
        if n > max_legend_entries:
            problems.append(f"a legend of {n} entries (at most {max_legend_entries})")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    boxes = {ax: _shrunk(ax.get_window_extent(renderer)) for ax in axes}
    texts = {
        ax: [(t, _shrunk(t.get_window_extent(renderer))) for t in _axes_texts(ax)] for ax in axes
    }

    def name(ax) -> str:
        title = ax.get_title() or ax.get_title("left") or ax.get_ylabel() or "a panel"
        return repr(title.splitlines()[0][:40])

    # Texts and legends of the figure itself (legends below the panels, a suptitle, a
    # stamp) must not cover a panel, an axes' text or each other.
    figure_items = [t for t in fig.texts if t.get_visible() and t.get_text().strip()]
    figure_items += list(fig.legends)
    figure_boxes = [(item, _shrunk(item.get_window_extent(renderer))) for item in figure_items]
    for n, (item, box) in enumerate(figure_boxes):
        what = item.get_text()[:30] if hasattr(item, "get_text") else "a legend"
        for other, other_box in figure_boxes[n + 1 :]:
            if box.overlaps(other_box):
                other_what = other.get_text()[:30] if hasattr(other, "get_text") else "a legend"
                problems.append(f"{what!r} over {other_what!r}")
        for ax in axes:
            if box.overlaps(boxes[ax]):
                problems.append(f"{what!r} over the panel {name(ax)}")
    for a in axes:
        for b in axes:
            if a is b:
                continue
            for text, box in texts[a]:
                if box.overlaps(boxes[b]):
                    problems.append(f"text {text.get_text()[:30]!r} of {name(a)} over {name(b)}")
                    continue
                for other, other_box in texts[b]:
                    if box.overlaps(other_box):
                        problems.append(
                            f"text {text.get_text()[:30]!r} of {name(a)} over "
                            f"{other.get_text()[:30]!r} of {name(b)}"
                        )
                        break
    return list(dict.fromkeys(problems))


def _stamp_below(fig, text: str) -> None:
    """``text`` in small grey type under everything the figure draws (legends below the
    panels included), right-aligned: it overlaps nothing."""
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())  # inches, everything drawn
    y = box.y0 / fig.get_figheight() - 0.01
    fig.text(0.995, y, text, ha="right", va="top", fontsize=6, color="0.4")


def save_figure(fig, pdf: str | Path, png: str | Path) -> None:
    """Write the figure as PDF and PNG, then close it; under the panels, the run's label
    (``run_label``), if any: below the figure's own area, so it overlaps nothing. With
    ``CHECK_ENV`` set, a figure that cannot be read stops here (``legibility_problems``)."""
    label = _RUN_LABEL.get()
    if label:
        _stamp_below(fig, f"variant: {label}")
    if os.environ.get(CHECK_ENV):
        problems = legibility_problems(fig)
        if problems:
            plt.close(fig)
            raise FigureLegibilityError(f"{png}: " + "; ".join(problems[:6]))
    for path in (pdf, png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


# --- figures of many networks: c on a colour bar, noise setting by line style ------------


def c_colour(c: float, cs) -> tuple:
    """The colour of ``c`` among the values ``cs`` (by log10 c, on ``C_COLOURMAP``)."""
    logs = np.log10(np.asarray(cs, dtype=float))
    low, high = float(logs.min()), float(logs.max())
    t = 0.5 if high == low else (np.log10(c) - low) / (high - low)
    return plt.get_cmap(C_COLOURMAP)(0.05 + 0.85 * t)


def add_c_colourbar(fig, cs, rect=(0.92, 0.15, 0.012, 0.7)):
    """A colour bar of log10 c for the colours of ``c_colour``, in its own axes at ``rect``
    (figure coordinates), ticked at the values of c drawn (at most about eight)."""
    import matplotlib as mpl

    logs = np.log10(np.asarray(sorted(set(cs)), dtype=float))
    low, high = float(logs.min()), float(logs.max())
    if high == low:
        low, high = low - 0.5, high + 0.5
    span = high - low
    norm = mpl.colors.Normalize(low - 0.05 / 0.85 * span, high + 0.1 / 0.85 * span)
    cax = fig.add_axes(rect)
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=C_COLOURMAP), cax=cax)
    step = max(1, int(np.ceil(len(logs) / 8)))
    bar.set_ticks(logs[::step])
    bar.set_ticklabels([f"{v:g}" for v in logs[::step]])
    bar.set_label("log10 c", fontsize=7)
    cax.tick_params(labelsize=6)
    return bar


def noise_legend_handles(points: bool = False) -> list:
    """Legend entries for the line style of each noise setting (black: colour is c)."""
    from matplotlib.lines import Line2D

    if points:
        return [
            Line2D(
                [],
                [],
                color="k",
                marker=NOISE_MARKERS[noise],
                ls="none",
                ms=3,
                label=NOISE_LABELS[noise],
            )  # fmt: skip
            for noise in ("heterogeneous", "homogeneous")
        ]
    return [
        Line2D(
            [],
            [],
            color="k",
            ls=NOISE_LINES[noise],
            lw=1,
            marker=NOISE_MARKERS[noise],
            ms=3,
            label=NOISE_LABELS[noise],
        )  # fmt: skip
        for noise in ("heterogeneous", "homogeneous")
    ]


def integer_epoch_axis(ax, epochs) -> None:
    """Epochs as whole numbers: every recorded epoch as a tick when there are few, and an
    axis one epoch wider than the data on each side (one recorded epoch: not 2.84 ... 3.16)."""
    from matplotlib.ticker import MaxNLocator

    epochs = np.sort(np.asarray(epochs, dtype=float))
    ax.set_xlim(epochs[0] - 0.5 if len(epochs) > 1 else epochs[0] - 1, epochs[-1] + 0.5)
    if len(epochs) <= 8:
        ax.set_xticks(epochs)
        ax.set_xticklabels([f"{int(e)}" for e in epochs])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))


def span_at_least(ax, factor: float = 1.5) -> None:
    """A log y axis that spans at least ``factor`` (centred on its data): differences of
    a few parts in a million between networks are not drawn as if they were decades."""
    low, high = ax.get_ylim()
    if low > 0 and high / low < factor:
        middle = (low * high) ** 0.5
        ax.set_ylim(middle / factor**0.5, middle * factor**0.5)


def space_between_panels(fig, wspace: float = 0.1) -> None:
    """More room between columns of a constrained layout: the outermost tick labels of
    neighbouring log axes (10^2 beside 10^-10) otherwise meet."""
    fig.get_layout_engine().set(wspace=wspace, w_pad=0.06)
