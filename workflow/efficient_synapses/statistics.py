"""General statistics of the analyses: NumPy and SciPy only, no PyTorch.

Every table of the workflow reduces its numbers with these functions, so that a
correlation, a fitted slope or an interval means the same thing in every table.

API (``x``, ``y``: arrays of equal length; functions marked *row-wise* also take
arrays of shape (..., n) and reduce the last axis, e.g. a stack of bootstrap
resamples):

Correlations

* ``ranks(values)`` -> array: ranks 1..n along the last axis, ties sharing their
  average rank (``scipy.stats.rankdata``).
* ``pearson(x, y)`` -> float or array, *row-wise*: Pearson correlation.
* ``spearman(x, y, min_pairs=2)`` -> float or array, *row-wise*: Spearman rank
  correlation, the Pearson correlation of the average ranks (equal to
  ``scipy.stats.spearmanr``).

Line fits (ordinary least squares)

* ``line_fit(x, y)`` -> (slope, intercept), *row-wise*: y = intercept + slope x;
  ``slope(x, y)`` and ``intercept(x, y)`` each alone (statistics for the bootstrap).
* ``loglog_fit(x, y, min_points=3)`` -> dict: the line log10 y = slope log10 x +
  intercept over the pairs with both values positive and finite, its Spearman r,
  and how many pairs entered (``n_synapses``, ``n_used``, ``n_excluded``).
* ``rma_slope(x, y)`` -> float or array, *row-wise*: the reduced-major-axis slope
  sign(r) sd(y)/sd(x), symmetric in x and y (no regression dilution).
* ``spearman_interval(r, n)`` -> (low, high): Fisher-z interval of a Spearman r.
* ``loglog_intervals(x, y, resamples, seed)`` -> dict: intervals of the Spearman r and
  of the reduced-major-axis slope (bootstrap) of the logs.

Resampling

* ``subsample(n, k, seed)`` -> sorted indices of min(n, k) of n items.
* ``bootstrap_pairs(x, y, statistics, resamples, seed, confidence=0.95)`` ->
  {name: Estimate}: percentile-bootstrap intervals over (x, y) pairs.
* ``regression_band(x, y, grid, resamples, seed, confidence=0.95)`` -> (fit, low,
  high): a fitted line on ``grid`` and its pointwise percentile-bootstrap band.
* ``Estimate``: value, ci_low, ci_high, n, resamples_used.

Summaries

* ``mean_sd(values)`` -> (mean, sd): the sd with ddof = 1.
* ``long_row(figure, panel, dataset, quantity, value, ...)`` -> dict: one row of the
  long tables of computed figure numbers (columns ``LONG_COLUMNS``);
  ``estimate_row(figure, panel, dataset, quantity, estimate, method, notes)`` the
  same from an ``Estimate``.

Undefined values: a statistic that is undefined (fewer pairs than it needs, a
constant input, a NaN in the input) is NaN, never an exception, so that one
degenerate network or resample leaves a gap in a table instead of stopping it.
Inputs of different lengths, or a bootstrap of fewer than two pairs, raise
``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

NAN = float("nan")

# --- correlations ------------------------------------------------------------------------


def _pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in shape: {x.shape} and {y.shape}")
    return x, y


def _scalar_or_array(values: np.ndarray):
    return float(values) if np.ndim(values) == 0 else values


def ranks(values) -> np.ndarray:
    """Ranks 1..n along the last axis, ties sharing their average rank; NaN propagates."""
    return stats.rankdata(np.asarray(values, dtype=float), axis=-1)


def pearson(x, y):
    """Pearson correlation over the last axis; NaN where an input is constant or holds NaN."""
    x, y = _pairs(x, y)
    dx = x - x.mean(axis=-1, keepdims=True)
    dy = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(-1) / np.sqrt((dx * dx).sum(-1) * (dy * dy).sum(-1))
    return _scalar_or_array(r)


def spearman(x, y, min_pairs: int = 2):
    """Spearman rank correlation over the last axis: the Pearson correlation of the
    average ranks. NaN with fewer than ``min_pairs`` pairs, a constant input or a NaN."""
    x, y = _pairs(x, y)
    if x.shape[-1] < max(min_pairs, 1):
        return _scalar_or_array(np.full(x.shape[:-1], NAN))
    return pearson(ranks(x), ranks(y))


# --- line fits ---------------------------------------------------------------------------


def line_fit(x, y):
    """Ordinary least squares y = intercept + slope x over the last axis: (slope, intercept).

    NaN where x is constant (or empty) or an input holds NaN.
    """
    x, y = _pairs(x, y)
    if x.shape[-1] == 0:
        empty = _scalar_or_array(np.full(x.shape[:-1], NAN))
        return empty, empty
    x_mean, y_mean = x.mean(axis=-1), y.mean(axis=-1)
    dx = x - x_mean[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (dx * (y - y_mean[..., None])).sum(-1) / (dx * dx).sum(-1)
    return _scalar_or_array(slope), _scalar_or_array(y_mean - slope * x_mean)


def loglog_fit(x, y, min_points: int = 3) -> dict[str, float | int]:
    """Least-squares line log10 y = slope log10 x + intercept, and Spearman r of the logs.

    Only pairs with both values positive and finite enter (a log axis holds no other);
    ``n_excluded`` counts the rest. With fewer than ``min_points`` pairs entering, or
    all their x equal, slope, intercept and r are NaN.
    """
    x, y = _pairs(np.ravel(x), np.ravel(y))
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    n = int(keep.sum())
    lx, ly = np.log10(x[keep]), np.log10(y[keep])
    if n >= min_points and np.ptp(lx) > 0:
        slope, intercept = line_fit(lx, ly)
    else:
        slope = intercept = NAN
    return {
        "n_synapses": len(x),
        "n_used": n,
        "n_excluded": len(x) - n,
        "slope": float(slope),
        "intercept": float(intercept),
        "spearman_r": spearman(lx, ly, min_pairs=min_points),
    }


# --- resampling --------------------------------------------------------------------------


def subsample(n: int, k: int, seed: int) -> np.ndarray:
    """Sorted indices of min(n, k) of n items, drawn without replacement with ``seed``."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


@dataclass(frozen=True)
class Estimate:
    """A statistic of the data and its percentile-bootstrap interval."""

    value: float
    ci_low: float
    ci_high: float
    n: int  # pairs in the data
    resamples_used: int  # resamples where the statistic was defined


def _resample_index(n: int, resamples: int, seed: int) -> np.ndarray:
    if n < 2:
        raise ValueError(f"a bootstrap needs at least two pairs, got {n}")
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def bootstrap_pairs(
    x,
    y,
    statistics: Mapping[str, Callable],
    resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """Percentile bootstrap over (x, y) pairs: one shared set of resamples for all statistics.

    Each statistic is row-wise: it takes arrays of shape (..., n) and reduces the last
    axis (``pearson``, ``spearman``, ``slope``, ``intercept``). Resamples where a statistic
    is undefined (e.g. all x equal, so r = NaN) are left out of its interval;
    ``resamples_used`` says how many remained. The same ``seed`` gives the same intervals.
    """
    x, y = _pairs(x, y)
    index = _resample_index(len(x), resamples, seed)
    xb, yb = x[index], y[index]
    alpha = (1.0 - confidence) / 2.0
    out = {}
    for name, statistic in statistics.items():
        point = float(statistic(x, y))
        boot = np.asarray(statistic(xb, yb), float)
        boot = boot[np.isfinite(boot)]
        low, high = np.quantile(boot, [alpha, 1.0 - alpha]) if boot.size else (NAN, NAN)
        out[name] = Estimate(point, float(low), float(high), len(x), int(boot.size))
    return out


def slope(x, y):
    """The least-squares slope alone, row-wise (a statistic for ``bootstrap_pairs``)."""
    return line_fit(x, y)[0]


def intercept(x, y):
    """The least-squares intercept alone, row-wise (a statistic for ``bootstrap_pairs``)."""
    return line_fit(x, y)[1]


def rma_slope(x, y):
    """Reduced-major-axis slope, row-wise: sign(r) sd(y) / sd(x).

    Symmetric in x and y: unlike least squares, whose slope is pulled towards 0 by
    noise in x (regression dilution), it favours neither a steep nor a shallow line
    when both variables carry noise. NaN where r or sd(x) is 0 or undefined.
    """
    x, y = _pairs(x, y)
    r = pearson(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sign(r) * np.std(y, axis=-1) / np.std(x, axis=-1)
        out = np.where(np.asarray(r) == 0, NAN, out)
    return _scalar_or_array(np.asarray(out, float))


def spearman_interval(r: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a Spearman r over ``n`` pairs: Fisher's z = atanh(r) with the
    standard error 1.06 / sqrt(n - 3) of Fieller, Hartley & Pearson (1957). NaN for n < 4."""
    from scipy.stats import norm

    if n < 4 or not np.isfinite(r):
        return NAN, NAN
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    half = norm.ppf(0.5 + confidence / 2.0) * 1.06 / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def loglog_intervals(x, y, resamples: int, seed: int, confidence: float = 0.95) -> dict[str, float]:
    """Intervals for the logs of the positive, finite pairs: the Spearman r
    (``spearman_interval``) and the reduced-major-axis slope with its percentile-bootstrap
    interval over pairs (``resamples``, ``seed``).

    Keys: ``spearman_r_ci_low/high``, ``rma_slope``, ``rma_slope_ci_low/high``.
    """
    x, y = _pairs(np.ravel(x), np.ravel(y))
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    out = dict.fromkeys(
        ("spearman_r_ci_low", "spearman_r_ci_high", "rma_slope", "rma_slope_ci_low"), NAN
    )
    out["rma_slope_ci_high"] = NAN
    n = int(keep.sum())
    if n < 4:
        return out
    lx, ly = np.log10(x[keep]), np.log10(y[keep])
    out["spearman_r_ci_low"], out["spearman_r_ci_high"] = spearman_interval(
        spearman(lx, ly), n, confidence
    )
    rma = bootstrap_pairs(lx, ly, {"rma": rma_slope}, resamples, seed, confidence)["rma"]
    out["rma_slope"] = rma.value
    out["rma_slope_ci_low"], out["rma_slope_ci_high"] = rma.ci_low, rma.ci_high
    return out


def regression_band(x, y, grid, resamples: int, seed: int, confidence: float = 0.95):
    """The least-squares line on ``grid`` and its pointwise percentile-bootstrap band.

    Returns (fit, low, high), each of the shape of ``grid``. The resamples are those of
    ``bootstrap_pairs`` with the same ``seed``; resamples whose line is undefined are
    left out.
    """
    x, y = _pairs(x, y)
    grid = np.asarray(grid, float)
    index = _resample_index(len(x), resamples, seed)
    slopes, intercepts = line_fit(x[index], y[index])
    lines = intercepts[:, None] + slopes[:, None] * grid[None, :]
    lines = lines[np.all(np.isfinite(lines), axis=1)]
    alpha = (1.0 - confidence) / 2.0
    fitted_slope, fitted_intercept = line_fit(x, y)
    low, high = np.quantile(lines, [alpha, 1.0 - alpha], axis=0)
    return fitted_intercept + fitted_slope * grid, low, high


# --- summaries ---------------------------------------------------------------------------


def mean_sd(values) -> tuple[float, float]:
    """Mean and standard deviation (ddof = 1) of ``values``; NaN where undefined
    (the sd of one value, both of none). NaN values propagate."""
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        return NAN, NAN
    sd = float(np.std(values, ddof=1)) if values.size > 1 else NAN
    return float(np.mean(values)), sd


# Columns of the long tables of computed figure numbers (results/tables/experimental.csv).
LONG_COLUMNS = (
    "figure",
    "panel",
    "dataset",
    "quantity",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "method",
    "notes",
)


def long_row(
    figure: int,
    panel: str,
    dataset: str,
    quantity: str,
    value: float,
    *,
    ci_low: float = NAN,
    ci_high: float = NAN,
    n: float = NAN,
    method: str = "",
    notes: str = "",
) -> dict:
    """One row of a long table of figure numbers: a value, its interval (NaN if none)."""
    return dict(
        zip(
            LONG_COLUMNS,
            (figure, panel, dataset, quantity, value, ci_low, ci_high, n, method, notes),
            strict=True,
        )
    )


def estimate_row(
    figure: int,
    panel: str,
    dataset: str,
    quantity: str,
    estimate: Estimate,
    method: str,
    notes: str = "",
) -> dict:
    """``long_row`` of a bootstrap ``Estimate``: its value, interval and number of pairs."""
    return long_row(
        figure,
        panel,
        dataset,
        quantity,
        estimate.value,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        n=estimate.n,
        method=method,
        notes=notes,
    )


def layer_unit_summary(sigma_squared: np.ndarray, unit_output: np.ndarray | None) -> dict:
    """One layer of a network, as the drift comparison reads it (docs/drift.md): the
    largest and median σ² of its synapses and, where the mean outputs of the hidden units
    feeding it are given, the smallest and how many are zero (silent units). The same
    for our statistics.npz and for the published Figure 5 arrays."""
    sigma_squared = np.asarray(sigma_squared)
    row = {
        "sigma_squared_max": float(sigma_squared.max()),
        "sigma_squared_median": float(np.median(sigma_squared)),
    }
    if unit_output is not None:
        unit_output = np.asarray(unit_output).ravel()
        row["presynaptic_units"] = int(unit_output.size)
        row["unit_output_min"] = float(unit_output.min())
        row["silent_presynaptic_units"] = int((unit_output <= 0).sum())
    return row
