"""The experimental data of Figure 6: parsing, validation and bootstrap statistics.

Three CSVs, read exactly as the authors published them (see ``data.EXPERIMENTAL_FILES``):

* Sjöström et al. (2001) LTP and LTD recordings, quantal parameters by Costa et al.
  (2015) as tabulated by Schug et al. (2021): release probability ``Pr`` before and
  after plasticity, quantal size ``q``, weight ``w = Pr q`` and the changes.
  Fig. 6a: release probability before plasticity against the relative weight change.
* Ko et al. (2013) connections as used by Aitchison et al. (2021): EPSP ``mean`` and
  ``var`` and the presynaptic firing rate ``foopsi_mean`` inferred by fast-oopsi
  deconvolution. Fig. 6b: normalised EPSP variability against firing rate, log-log.

The files carry quirks that a naive ``pandas.read_csv`` mishandles or hides: a UTF-8
byte-order mark, CRLF line ends, leading spaces before every row, recording names in
single quotes, header names in double quotes after a space, a trailing comma in the
Ko header (an empty sixth name) and, in the LTD file, two trailing columns named
``w (before)`` and ``w (after)`` a second time. We parse line by line so that every
rejected row can be reported with its file and line number, never silently dropped.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

# --- column schemas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One published column: its name, how to read it, and the range a valid value lies in."""

    name: str
    kind: str  # "text" or "number"
    check: Callable[[float], bool] | None = None
    rule: str = ""  # the range, in words, for the exclusion report


def _probability(name):
    return Column(name, "number", lambda x: 0.0 <= x <= 1.0, "a probability in [0, 1]")


def _positive(name, what="positive"):
    return Column(name, "number", lambda x: x > 0.0, what)


def _finite(name):
    return Column(name, "number", None, "a finite number")


def _text(name):
    return Column(name, "text")


# The Sjöström columns; both files hold all of them (in a different order).
_SJOSTROM = (
    _text("Recording"),
    _positive("Pairing freq.", "a positive pairing rate (Hz)"),
    _finite("Timing"),
    _probability("Pr (before)"),
    _probability("Pr (after)"),
    _positive("q (mV, before)", "a positive quantal size (mV)"),
    _positive("q (mV, after)", "a positive quantal size (mV)"),
    _positive("w (before)", "a positive weight"),
    _positive("w (after)", "a positive weight"),
    _finite("dp"),
    _finite("dp_rel"),
    _finite("dq"),
    _finite("dq_rel"),
    _finite("dw_abs"),
    _finite("dw_rel"),
)

_KO = (
    # The EPSP mean must be positive: every normalisation divides by it.
    _positive("mean", "a positive EPSP mean"),
    _positive("var", "a positive EPSP variance"),
    _positive("foopsi_mean", "a positive firing rate"),
    Column("foopsi_threshold", "number", lambda x: x >= 0.0, "a non-negative threshold"),
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "sjostrom2001_ltp": _SJOSTROM,
    "sjostrom2001_ltd": _SJOSTROM,
    "ko2013": _KO,
}

# Published row counts: the tests and the log compare against them.
EXPECTED_ROWS = {"sjostrom2001_ltp": 30, "sjostrom2001_ltd": 14, "ko2013": 136}

# dw_rel is published as |w(after) - w(before)| / w(before) (a magnitude, also for LTD).
# The published columns agree to ~5e-8 relative (rounding to 9 digits); a row that
# disagrees by more than this has inconsistent columns and is excluded.
DW_REL_TOLERANCE = 1e-4

# Second occurrences of a column name are kept under this suffix (LTD: "w (before) #2").
DUPLICATE_SUFFIX = " #{k}"


class HeaderError(ValueError):
    """A file whose header lacks required columns: the analysis cannot proceed."""


@dataclass(frozen=True)
class Exclusion:
    """One rejected data row: which file, which line (1-based, header = line 1), why."""

    file: str
    line: int
    reason: str


@dataclass
class ParsedTable:
    dataset: str
    file: str
    rows: pd.DataFrame  # the valid rows, with a "line" column
    excluded: list[Exclusion] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


def _header_names(fields: Sequence[str]) -> list[str]:
    """Strip names, drop trailing empty names (a trailing comma), de-duplicate repeats."""
    names = [f.strip() for f in fields]
    while names and names[-1] == "":
        names.pop()
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else name + DUPLICATE_SUFFIX.format(k=seen[name]))
    return out


def parse_experimental_csv(path: str | Path, dataset: str) -> ParsedTable:
    """Read one published CSV as it is; validate every value against ``SCHEMAS[dataset]``.

    Returns the valid rows and a list of exclusions (file, line, reason). Raises
    ``HeaderError`` naming the missing columns when the header lacks a required one.
    """
    if dataset not in SCHEMAS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {list(SCHEMAS)}")
    path = Path(path)
    schema = SCHEMAS[dataset]
    # utf-8-sig removes the byte-order mark; splitlines() handles the CRLF line ends.
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    if not lines:
        raise HeaderError(f"{path.name}: empty file, no header")
    # skipinitialspace: the Ko header is `"mean", "var", ...` with a space before each quote.
    header_fields = next(csv.reader([lines[0]], skipinitialspace=True))
    header = _header_names(header_fields)
    missing = [c.name for c in schema if c.name not in header]
    if missing:
        raise HeaderError(
            f"{path.name}: header lacks the required column(s) {missing}; found {header} (line 1)"
        )
    position = {name: i for i, name in enumerate(header)}

    records, excluded = [], []
    for line_number, line in enumerate(lines[1:], start=2):
        if line.strip() == "":
            continue  # blank lines hold no data (none in the published files)
        fields = [f.strip() for f in next(csv.reader([line], skipinitialspace=True))]
        if len(fields) != len(header):
            excluded.append(
                Exclusion(
                    path.name,
                    line_number,
                    f"{len(fields)} fields, expected {len(header)} (truncated or malformed line)",
                )
            )
            continue
        record, reasons = {"line": line_number}, []
        for column in schema:
            text = fields[position[column.name]]
            if column.kind == "text":
                # Recording names are written in single quotes: 'EPSP_Sat_Sep_9_2000_5_to_6'.
                value = text.strip("'\"")
                if not value:
                    reasons.append(f"column {column.name!r} is empty")
                record[column.name] = value
                continue
            try:
                value = float(text)
            except ValueError:
                reasons.append(f"column {column.name!r} = {text!r} is not a number")
                continue
            if not math.isfinite(value):
                reasons.append(f"column {column.name!r} = {text!r} is not finite")
            elif column.check is not None and not column.check(value):
                reasons.append(f"column {column.name!r} = {text} is not {column.rule}")
            record[column.name] = value
        # Columns outside the schema (the LTD file's duplicated weights) are kept as text.
        for name in header:
            if name not in record and name not in {c.name for c in schema}:
                record[name] = fields[position[name]]
        if not reasons and dataset.startswith("sjostrom"):
            reasons.extend(_sjostrom_consistency(record))
        if reasons:
            excluded.append(Exclusion(path.name, line_number, "; ".join(reasons)))
        else:
            records.append(record)
    rows = pd.DataFrame.from_records(records, columns=["line", *header])
    return ParsedTable(dataset, path.name, rows, excluded, header)


def _sjostrom_consistency(record: dict) -> list[str]:
    """dw_rel must equal |w(after) - w(before)| / w(before): catches a corrupted weight."""
    w_before, w_after = record["w (before)"], record["w (after)"]
    expected = abs(w_after - w_before) / w_before
    if abs(record["dw_rel"] - expected) > DW_REL_TOLERANCE * max(abs(expected), 1e-3):
        return [
            f"dw_rel = {record['dw_rel']:.6g} disagrees with |w(after) - w(before)| / w(before)"
            f" = {expected:.6g}"
        ]
    return []


def exclusions_frame(excluded: Sequence[Exclusion]) -> pd.DataFrame:
    """The table of excluded rows (header only when nothing was excluded)."""
    return pd.DataFrame(
        [(e.file, e.line, e.reason) for e in excluded], columns=["file", "line", "reason"]
    )


# --- statistics ---------------------------------------------------------------------------------


def linear_fit(x, y) -> tuple[float, float]:
    """Ordinary least squares y = intercept + slope x: (slope, intercept)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = x - x.mean()
    slope = float(np.dot(dx, y - y.mean()) / np.dot(dx, dx))
    return slope, float(y.mean() - slope * x.mean())


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    dx = x - x.mean(axis=-1, keepdims=True)
    dy = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dx * dy).sum(-1) / np.sqrt((dx * dx).sum(-1) * (dy * dy).sum(-1))


def _rowwise_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    dx = x - x.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dx * (y - y.mean(axis=-1, keepdims=True))).sum(-1) / (dx * dx).sum(-1)


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float
    n: int
    resamples_used: int


def bootstrap_pairs(
    x, y, statistics: dict[str, Callable], resamples: int, seed: int, confidence: float = 0.95
) -> dict[str, Estimate]:
    """Percentile bootstrap over (x, y) pairs: one shared set of resamples for all statistics.

    Each statistic takes arrays of shape (..., n) and reduces the last axis. Resamples
    where a statistic is undefined (e.g. all x equal, so r = nan) are left out of its
    interval; ``resamples_used`` says how many remained.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(resamples, n))
    xb, yb = x[index], y[index]
    alpha = (1.0 - confidence) / 2.0
    out = {}
    for name, statistic in statistics.items():
        point = float(statistic(x, y))
        boot = np.asarray(statistic(xb, yb), float)
        boot = boot[np.isfinite(boot)]
        low, high = np.quantile(boot, [alpha, 1.0 - alpha])
        out[name] = Estimate(point, float(low), float(high), n, int(boot.size))
    return out


def pearson_r(x, y):
    return _rowwise_pearson(np.asarray(x, float), np.asarray(y, float))


def spearman_r(x, y):
    """Pearson r of the ranks (average ranks for ties), row-wise over the last axis."""
    return _rowwise_pearson(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


def ols_slope(x, y):
    return _rowwise_slope(np.asarray(x, float), np.asarray(y, float))


def ols_intercept(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return y.mean(axis=-1) - ols_slope(x, y) * x.mean(axis=-1)


# Normalisations of EPSP variability for Fig. 6b (mean m, variance v of the EPSP).
# sd/mean is the coefficient of variation; var/mean the Fano factor; var/mean² = CV².
KO_NORMALISATIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sd/mean": lambda m, v: np.sqrt(v) / m,
    "var/mean": lambda m, v: v / m,
    "var/mean^2": lambda m, v: v / m**2,
    "var": lambda m, v: v,
}

# The magnitude of the log-log slope reported in Fig. 6b (Aitchison et al., 2021).
PAPER_KO_SLOPE = 0.62


def regression_band(x, y, grid, resamples: int, seed: int, confidence: float = 0.95):
    """Fitted line on ``grid`` and its pointwise percentile-bootstrap band (same resamples)."""
    x, y, grid = np.asarray(x, float), np.asarray(y, float), np.asarray(grid, float)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(x), size=(resamples, len(x)))
    slopes = ols_slope(x[index], y[index])
    intercepts = y[index].mean(-1) - slopes * x[index].mean(-1)
    lines = intercepts[:, None] + slopes[:, None] * grid[None, :]
    lines = lines[np.all(np.isfinite(lines), axis=1)]
    alpha = (1.0 - confidence) / 2.0
    slope, intercept = linear_fit(x, y)
    low, high = np.quantile(lines, [alpha, 1.0 - alpha], axis=0)
    return intercept + slope * grid, low, high


def _row(figure, panel, dataset, quantity, est: Estimate | None, method, notes, value=None, n=None):
    return {
        "figure": figure,
        "panel": panel,
        "dataset": dataset,
        "quantity": quantity,
        "value": est.value if est is not None else value,
        "ci_low": est.ci_low if est is not None else np.nan,
        "ci_high": est.ci_high if est is not None else np.nan,
        "n": est.n if est is not None else n,
        "method": method,
        "notes": notes,
    }


def analyse_figure6(
    tables: dict[str, ParsedTable],
    resamples: int,
    seed: int,
    confidence: float = 0.95,
    ko_normalisation: str = "sd/mean",
    grid_points: int = 50,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """All Fig. 6 numbers (long table) and the arrays the figure draws.

    (a) per Sjöström file: x = release probability before plasticity, y = the published
        relative weight change dw_rel = |Δw| / w(before); Pearson and Spearman r, OLS
        slope and intercept, each with a percentile-bootstrap interval (pairs resampled).
    (b) Ko: log10 firing rate against log10 normalised variability, for every candidate
        normalisation; OLS slope with its bootstrap interval. ``ko_normalisation`` is the
        one drawn.
    """
    if ko_normalisation not in KO_NORMALISATIONS:
        raise ValueError(f"ko_normalisation must be one of {list(KO_NORMALISATIONS)}")
    level = f"{confidence:.0%} percentile bootstrap, {resamples} resamples, seed {seed}"
    rows, arrays = [], {}
    for k, (dataset, panel) in enumerate((("sjostrom2001_ltp", "a"), ("sjostrom2001_ltd", "a"))):
        t = tables[dataset].rows
        x = t["Pr (before)"].to_numpy(float)
        y = t["dw_rel"].to_numpy(float)
        est = bootstrap_pairs(
            x,
            y,
            {
                "pearson_r": pearson_r,
                "spearman_r": spearman_r,
                "slope": ols_slope,
                "intercept": ols_intercept,
            },
            resamples,
            seed + k,
            confidence,
        )
        p_pearson = float(stats.pearsonr(x, y).pvalue)
        p_spearman = float(stats.spearmanr(x, y).pvalue)
        what = "release probability before vs relative weight change |dw|/w(before)"
        rows += [
            _row(
                6,
                panel,
                dataset,
                "pearson_r",
                est["pearson_r"],
                level,
                f"{what}; two-sided p = {p_pearson:.3g}",
            ),
            _row(
                6,
                panel,
                dataset,
                "spearman_r",
                est["spearman_r"],
                level,
                f"{what}; two-sided p = {p_spearman:.3g}",
            ),
            _row(6, panel, dataset, "regression_slope", est["slope"], level, f"OLS; {what}"),
            _row(6, panel, dataset, "regression_intercept", est["intercept"], level, "OLS"),
            _row(
                6,
                panel,
                dataset,
                "pearson_p",
                None,
                "scipy.stats.pearsonr",
                what,
                p_pearson,
                len(x),
            ),
            _row(
                6,
                panel,
                dataset,
                "spearman_p",
                None,
                "scipy.stats.spearmanr",
                what,
                p_spearman,
                len(x),
            ),
        ]
        grid = np.linspace(0.0, 1.0, grid_points)
        fit, low, high = regression_band(x, y, grid, resamples, seed + k, confidence)
        arrays |= {
            f"{dataset}_x": x,
            f"{dataset}_y": y,
            f"{dataset}_grid": grid,
            f"{dataset}_fit": fit,
            f"{dataset}_band_low": low,
            f"{dataset}_band_high": high,
        }

    ko = tables["ko2013"].rows
    rate = ko["foopsi_mean"].to_numpy(float)
    mean, var = ko["mean"].to_numpy(float), ko["var"].to_numpy(float)
    log_rate = np.log10(rate)
    grid = np.linspace(log_rate.min(), log_rate.max(), grid_points)
    for normalisation, f in KO_NORMALISATIONS.items():
        log_var = np.log10(f(mean, var))
        est = bootstrap_pairs(
            log_rate,
            log_var,
            {"slope": ols_slope, "intercept": ols_intercept, "pearson_r": pearson_r},
            resamples,
            seed + 2,
            confidence,
        )
        drawn = " (drawn in Fig. 6b)" if normalisation == ko_normalisation else ""
        rows += [
            _row(
                6,
                "b",
                "ko2013",
                f"loglog_slope[{normalisation}]",
                est["slope"],
                level,
                f"OLS of log10({normalisation}) on log10(firing rate){drawn}; "
                f"paper: |slope| = {PAPER_KO_SLOPE}",
            ),
            _row(
                6,
                "b",
                "ko2013",
                f"loglog_intercept[{normalisation}]",
                est["intercept"],
                level,
                f"OLS, log10 units{drawn}",
            ),
            _row(
                6,
                "b",
                "ko2013",
                f"loglog_pearson_r[{normalisation}]",
                est["pearson_r"],
                level,
                f"Pearson r of the logs{drawn}",
            ),
        ]
        if normalisation == ko_normalisation:
            fit, low, high = regression_band(
                log_rate, log_var, grid, resamples, seed + 2, confidence
            )
            arrays |= {
                "ko2013_rate": rate,
                "ko2013_variability": f(mean, var),
                "ko2013_log10_rate_grid": grid,
                "ko2013_log10_fit": fit,
                "ko2013_log10_band_low": low,
                "ko2013_log10_band_high": high,
            }
    slopes = {
        r["quantity"][len("loglog_slope[") : -1]: r["value"]
        for r in rows
        if r["quantity"].startswith("loglog_slope[")
    }
    closest = min(slopes, key=lambda k: abs(abs(slopes[k]) - PAPER_KO_SLOPE))
    rows.append(
        _row(
            6,
            "b",
            "ko2013",
            "normalisation_closest_to_paper",
            None,
            "min | |slope| - 0.62 |",
            f"{closest}: |slope| = {abs(slopes[closest]):.3f} vs the paper's {PAPER_KO_SLOPE}",
            abs(slopes[closest]),
            len(rate),
        )
    )
    arrays["ko2013_normalisation"] = np.array(ko_normalisation)
    arrays["confidence"] = np.array(confidence)
    table = pd.DataFrame(rows)
    return table, arrays


def ko_slope_for_appendix5(statistics: pd.DataFrame) -> float:
    """The experimental reference slope of Appendix 5 figure 1, from the Fig. 6b table.

    log σ² on log <x²> has the slope of log σ on log |x| (both axes squared), and the
    Ko data give log(sd/mean) on log(firing rate): at a fixed mean, sd/mean is σ up to
    a constant and the rate plays the part of the input |x|. So the reference is the
    sd/mean slope (the one that matches the paper's 0.62).
    """
    rows = statistics[
        (statistics["dataset"] == "ko2013") & (statistics["quantity"] == "loglog_slope[sd/mean]")
    ]
    if len(rows) != 1:
        raise KeyError("the Figure 6 statistics have no Ko slope for sd/mean")
    return float(rows["value"].iloc[0])
