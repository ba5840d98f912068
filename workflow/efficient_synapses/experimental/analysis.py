"""The statistics of Figure 6: correlations and slopes of the experimental data, bootstrapped.

The data are parsed and validated by :mod:`efficient_synapses.data.experimental_csv`:

* Sjöström et al. (2001) LTP and LTD recordings (Fig. 6a): release probability before
  plasticity against the relative weight change.
* Ko et al. (2013) connections (Fig. 6b): normalised EPSP variability against the
  presynaptic firing rate, log-log.

Every number goes into one long table (``statistics.LONG_COLUMNS``) with its
percentile-bootstrap interval; the arrays hold what the figure draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..data.experimental_csv import ParsedTable
from ..statistics import (
    bootstrap_pairs,
    estimate_row,
    intercept,
    long_row,
    pearson,
    regression_band,
    slope,
    spearman,
)

# Normalisations of EPSP variability for Fig. 6b (mean m, variance v of the EPSP).
# sd/mean is the coefficient of variation; var/mean the Fano factor; var/mean² = CV².
KO_NORMALISATIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sd/mean": lambda m, v: np.sqrt(v) / m,
    "var/mean": lambda m, v: v / m,
    "var/mean^2": lambda m, v: v / m**2,
    "var": lambda m, v: v,
}

SJOSTROM_PANELS = (("sjostrom2001_ltp", "a"), ("sjostrom2001_ltd", "a"))
SJOSTROM_WHAT = "release probability before vs relative weight change |dw|/w(before)"


def sjostrom_statistics(
    table: ParsedTable,
    panel: str,
    resamples: int,
    seed: int,
    confidence: float,
    grid_points: int,
    method: str,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Fig. 6a for one Sjöström file: Pearson and Spearman r, least-squares slope and
    intercept of the published dw_rel = |Δw| / w(before) on Pr before, with intervals.

    ``method`` describes the bootstrap in the table."""
    dataset = table.dataset
    x = table.rows["Pr (before)"].to_numpy(float)
    y = table.rows["dw_rel"].to_numpy(float)
    statistics = {
        "pearson_r": pearson,
        "spearman_r": spearman,
        "slope": slope,
        "intercept": intercept,
    }
    est = bootstrap_pairs(x, y, statistics, resamples, seed, confidence)
    p_value = {
        "pearson": float(stats.pearsonr(x, y).pvalue),
        "spearman": float(stats.spearmanr(x, y).pvalue),
    }
    what = SJOSTROM_WHAT
    rows = [
        estimate_row(
            6,
            panel,
            dataset,
            f"{name}_r",
            est[f"{name}_r"],
            method,
            f"{what}; two-sided p = {p_value[name]:.3g}",
        )
        for name in ("pearson", "spearman")
    ]
    rows += [
        estimate_row(6, panel, dataset, "regression_slope", est["slope"], method, f"OLS; {what}"),
        estimate_row(6, panel, dataset, "regression_intercept", est["intercept"], method, "OLS"),
    ]
    rows += [
        long_row(
            6,
            panel,
            dataset,
            f"{name}_p",
            p_value[name],
            n=len(x),
            method=f"scipy.stats.{name}r",
            notes=what,
        )
        for name in ("pearson", "spearman")
    ]
    grid = np.linspace(0.0, 1.0, grid_points)
    fit, low, high = regression_band(x, y, grid, resamples, seed, confidence)
    arrays = {
        f"{dataset}_x": x,
        f"{dataset}_y": y,
        f"{dataset}_grid": grid,
        f"{dataset}_fit": fit,
        f"{dataset}_band_low": low,
        f"{dataset}_band_high": high,
    }
    return rows, arrays


def ko_statistics(
    table: ParsedTable,
    resamples: int,
    seed: int,
    confidence: float,
    ko_normalisation: str,
    paper_slope: float,
    grid_points: int,
    method: str,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Fig. 6b: least-squares slope of log10 normalised variability on log10 firing rate,
    for every normalisation of ``KO_NORMALISATIONS``, and the one closest to the paper's."""
    rate = table.rows["foopsi_mean"].to_numpy(float)
    mean, var = table.rows["mean"].to_numpy(float), table.rows["var"].to_numpy(float)
    log_rate = np.log10(rate)
    grid = np.linspace(log_rate.min(), log_rate.max(), grid_points)
    statistics = {"slope": slope, "intercept": intercept, "pearson_r": pearson}
    rows, arrays, slopes = [], {}, {}
    for normalisation, normalise in KO_NORMALISATIONS.items():
        log_var = np.log10(normalise(mean, var))
        est = bootstrap_pairs(log_rate, log_var, statistics, resamples, seed, confidence)
        slopes[normalisation] = est["slope"].value
        drawn = " (drawn in Fig. 6b)" if normalisation == ko_normalisation else ""
        for quantity, name, notes in (
            (
                "loglog_slope",
                "slope",
                f"OLS of log10({normalisation}) on log10(firing rate){drawn}; "
                f"paper: |slope| = {paper_slope}",
            ),
            ("loglog_intercept", "intercept", f"OLS, log10 units{drawn}"),
            ("loglog_pearson_r", "pearson_r", f"Pearson r of the logs{drawn}"),
        ):
            quantity = f"{quantity}[{normalisation}]"
            rows.append(estimate_row(6, "b", "ko2013", quantity, est[name], method, notes))
        if drawn:
            fit, low, high = regression_band(log_rate, log_var, grid, resamples, seed, confidence)
            arrays |= {
                "ko2013_rate": rate,
                "ko2013_variability": normalise(mean, var),
                "ko2013_log10_rate_grid": grid,
                "ko2013_log10_fit": fit,
                "ko2013_log10_band_low": low,
                "ko2013_log10_band_high": high,
            }
    closest = min(slopes, key=lambda k: abs(abs(slopes[k]) - paper_slope))
    rows.append(
        long_row(
            6,
            "b",
            "ko2013",
            "normalisation_closest_to_paper",
            abs(slopes[closest]),
            n=len(rate),
            method=f"min | |slope| - {paper_slope} |",
            notes=f"{closest}: |slope| = {abs(slopes[closest]):.3f} vs the paper's {paper_slope}",
        )
    )
    return rows, arrays


def analyse_figure6(
    tables: dict[str, ParsedTable],
    resamples: int,
    seed: int,
    paper_slope: float,
    confidence: float = 0.95,
    ko_normalisation: str = "sd/mean",
    grid_points: int = 50,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """All Fig. 6 numbers (long table) and the arrays the figure draws.

    (a) per Sjöström file (``sjostrom_statistics``), bootstrap seeds ``seed`` and
        ``seed + 1``; (b) Ko (``ko_statistics``), seed ``seed + 2``. Pairs are resampled.
        ``ko_normalisation`` is the normalisation drawn, ``paper_slope`` the magnitude
        of the paper's Fig. 6b slope.
    """
    if ko_normalisation not in KO_NORMALISATIONS:
        raise ValueError(f"ko_normalisation must be one of {list(KO_NORMALISATIONS)}")
    method = f"{confidence:.0%} percentile bootstrap, {resamples} resamples, seed {seed}"
    rows, arrays = [], {}
    for k, (dataset, panel) in enumerate(SJOSTROM_PANELS):
        more_rows, more_arrays = sjostrom_statistics(
            tables[dataset], panel, resamples, seed + k, confidence, grid_points, method
        )
        rows += more_rows
        arrays |= more_arrays
    more_rows, more_arrays = ko_statistics(
        tables["ko2013"],
        resamples,
        seed + 2,
        confidence,
        ko_normalisation,
        paper_slope,
        grid_points,
        method,
    )
    rows += more_rows
    arrays |= more_arrays
    arrays["ko2013_normalisation"] = np.array(ko_normalisation)
    arrays["confidence"] = np.array(confidence)
    return pd.DataFrame(rows), arrays


def ko_slope_for_appendix5(statistics: pd.DataFrame) -> float:
    """The experimental reference slope of Appendix 5 figure 1, from the Fig. 6b table.

    log σ² on log <x²> has the slope of log σ on log |x| (both axes squared), and the
    Ko data give log(sd/mean) on log(firing rate): at a fixed mean, sd/mean is σ up to
    a constant and the rate plays the part of the input |x|. So the reference is the
    sd/mean slope (the one that matches the paper's).
    """
    rows = statistics[
        (statistics["dataset"] == "ko2013") & (statistics["quantity"] == "loglog_slope[sd/mean]")
    ]
    if len(rows) != 1:
        raise KeyError("the Figure 6 statistics have no Ko slope for sd/mean")
    return float(rows["value"].iloc[0])
