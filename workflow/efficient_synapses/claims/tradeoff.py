"""Claims of Figures 2 and 3: the accuracy-reliability tradeoff, from training.csv.

Evidence groups: the trends of one (ρ, noise setting) along c (accuracy falls, σ rises,
accuracy against σ and against the reliability cost) come from the same networks and,
at an optimum of P + cR, hold by construction: they can fail only through networks that
did not converge. The comparisons of heterogeneous with homogeneous accuracy of one ρ
share their accuracies; the noise comparison of one ρ its σ.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..statistics import mean_sd, spearman
from .core import PAPER, ClaimResult, excluded, span, without_diverged_by_group

ACCURACY = "test_accuracy_sampled"
SECTION = "Results, 'The tradeoff between accuracy and reliability costs'"
QUOTE_ACCURACY = f'{SECTION}: "as c increased, performance fell (Figure 2a)"'
QUOTE_SIGMA = f'{SECTION}: "the average synaptic standard deviation increased (Figure 2b)"'
QUOTE_HETEROGENEOUS = (
    f'{SECTION}: "heterogeneous noise (i.e. allowing the noise to vary on a per-synapse '
    'basis) improved accuracy considerably for a fixed value of c"'
)
QUOTE_SLIGHTLY = (
    f'{SECTION}: "heterogeneous noise ... improved accuracy considerably for a fixed value '
    'of c, but only reduced the average noise slightly"'
)
QUOTE_FIG3A = (
    f'{SECTION}: "as the synaptic noise level increases, the accuracy decreases (Figure 3a)"'
)
QUOTE_FIG3C = (
    f'{SECTION}: "accuracy increasing as we allow the system to invest more energy in '
    'becoming more reliable, which implies a higher reliability cost" (Figure 3c)'
)
QUOTE_FIG3_HET = (
    f'{SECTION}: "heterogeneous noise allowed for considerably improved accuracy at a given '
    'average noise standard deviation or a given reliability cost" (Figure 3)'
)


def trends_group(rho: str, noise: str) -> str:
    return f"Figs 2/3 trends along c (ρ={rho}, {noise})"


def accuracy_group(rho: str) -> str:
    return f"Figs 2/3 heterogeneous vs homogeneous accuracy (ρ={rho})"


def above_chance_part(c, accuracy, above_chance: float) -> tuple[np.ndarray, np.ndarray]:
    """The grid (sorted by c) up to the first c whose accuracy is at chance, inclusive.

    Beyond that c the network has nothing left to lose: accuracies on the chance
    plateau differ by test-set noise only, and a trend fitted there is a coin toss. The
    first point at chance is kept, because the fall onto chance is part of the fall.
    """
    order = np.argsort(np.asarray(c, float), kind="stable")
    c, accuracy = np.asarray(c, float)[order], np.asarray(accuracy, float)[order]
    at_chance = np.flatnonzero(accuracy <= above_chance)
    end = len(c) if at_chance.size == 0 else int(at_chance[0]) + 1
    return c[:end], accuracy[:end]


def _trend(
    table, column, sign, threshold, above_chance, min_points, claim, statement, quote, figure, x
):
    """Per ρ and noise: Spearman(x, accuracy) of sign ``sign`` beyond ``threshold`` in every
    seed, on the networks up to the first at chance (ordered by c), over ≥ ``min_points``."""
    table, n_diverged = without_diverged_by_group(table, ["rho", "noise"])
    rows = []
    for (rho, noise), g in table.groupby(["rho", "noise"], sort=False):
        per_seed, lengths = [], []
        for _, s in g.groupby("seed"):
            s = s.sort_values("c")
            c, acc = above_chance_part(s["c"], s[column], above_chance)
            values = s[x].to_numpy()[: len(c)] if x != "c" else c
            lengths.append(len(c))
            per_seed.append(spearman(values, acc) if len(c) >= min_points else float("nan"))
        value, spread = mean_sd(per_seed)
        word = "≤" if sign < 0 else "≥"
        rows.append(
            ClaimResult(
                PAPER,
                claim,
                statement,
                quote,
                figure,
                f"rho={rho}, {noise}; {span(lengths)} values of c up to chance"
                + excluded(n_diverged.get((rho, noise), 0)),
                f"Spearman({x}, {column}) on the networks up to the first at chance "
                f"(accuracy ≤ {above_chance:g})",
                value,
                spread,
                len(per_seed),
                f"Spearman {word} {sign * threshold:g} in every seed, "
                f"over ≥ {min_points} values of c",
                all(math.isfinite(r) and sign * r >= threshold for r in per_seed),
                evidence=trends_group(rho, noise),
                fails_if=(
                    f"in some seed the rank correlation is weaker than {threshold:g} (or of the "
                    f"other sign), or fewer than {min_points} values of c lie above chance"
                ),
            )
        )
    return rows


def accuracy_falls_with_c(
    table: pd.DataFrame,
    threshold: float,
    above_chance: float,
    min_points: int,
    column: str = ACCURACY,
) -> list[ClaimResult]:
    """Fig. 2a: Spearman(c, accuracy) ≤ -threshold in every seed, above chance."""
    return _trend(
        table,
        column,
        -1,
        threshold,
        above_chance,
        min_points,
        "accuracy_falls_with_c",
        "Accuracy falls as the reliability cost multiplier c increases",
        QUOTE_ACCURACY,
        "fig2",
        "c",
    )


def accuracy_falls_with_sigma(table, threshold, above_chance, min_points) -> list[ClaimResult]:
    """Fig. 3a: Spearman(RMS σ, accuracy) ≤ -threshold in every seed, above chance."""
    return _trend(
        table,
        ACCURACY,
        -1,
        threshold,
        above_chance,
        min_points,
        "accuracy_falls_with_sigma",
        "Accuracy falls as the synaptic noise level σ rises",
        QUOTE_FIG3A,
        "fig3",
        "sigma_rms",
    )


def accuracy_rises_with_reliability_cost(
    table, threshold, above_chance, min_points
) -> list[ClaimResult]:
    """Fig. 3c: Spearman(reliability cost, accuracy) ≥ threshold in every seed, above chance."""
    return _trend(
        table,
        ACCURACY,
        +1,
        threshold,
        above_chance,
        min_points,
        "accuracy_rises_with_reliability_cost",
        "Accuracy rises with the reliability cost (s = 1) the network pays",
        QUOTE_FIG3C,
        "fig3",
        "reliability_cost_s1",
    )


def sigma_rises_with_c(table: pd.DataFrame, threshold: float) -> list[ClaimResult]:
    """Fig. 2b: Spearman(c, RMS σ) ≥ threshold in every seed, whole grid.

    σ is measured directly (not through test-set noise) and keeps rising on the chance
    plateau, where the reliability cost alone sets it: the whole grid is used.
    """
    table, n_diverged = without_diverged_by_group(table, ["rho", "noise"])
    rows = []
    for (rho, noise), g in table.groupby(["rho", "noise"], sort=False):
        per_seed = [spearman(s["c"], s["sigma_rms"]) for _, s in g.groupby("seed")]
        rows.append(
            ClaimResult(
                PAPER,
                "sigma_rises_with_c",
                "The synaptic noise level σ rises as c increases",
                QUOTE_SIGMA,
                "fig2",
                f"rho={rho}, {noise}{excluded(n_diverged.get((rho, noise), 0))}",
                "Spearman(c, sigma_rms) over the whole grid",
                *mean_sd(per_seed),
                len(per_seed),
                f"Spearman ≥ {threshold:g} in every seed",
                all(math.isfinite(r) and r >= threshold for r in per_seed),
                evidence=trends_group(rho, noise),
                fails_if=f"in some seed RMS σ does not rise with c (Spearman < {threshold:g})",
            )
        )
    return rows


def _informative(pivot: pd.DataFrame, above_chance: float) -> pd.Series:
    """The c where either setting is above chance (on the plateau both are at chance)."""
    return (pivot["heterogeneous"] > above_chance) | (pivot["homogeneous"] > above_chance)


def heterogeneous_at_least_as_accurate(
    table: pd.DataFrame, tolerance: float, above_chance: float, column: str = ACCURACY
) -> list[ClaimResult]:
    """Per ρ: mean heterogeneous accuracy ≥ mean homogeneous accuracy - tolerance at every c
    where either setting is above chance (on the plateau both are at chance)."""
    table, n_diverged = without_diverged_by_group(table, ["rho"])
    rows = []
    means = table.groupby(["rho", "noise", "c"])[column].mean().unstack("noise")
    for rho, g in means.groupby(level="rho", sort=False):
        if not {"heterogeneous", "homogeneous"} <= set(g.columns):
            continue
        g = g.dropna(subset=["heterogeneous", "homogeneous"])
        diff = (g["heterogeneous"] - g["homogeneous"])[_informative(g, above_chance)]
        per_seed_min = []
        for _, s in table[table["rho"] == rho].groupby("seed"):
            p = s.pivot_table(index="c", columns="noise", values=column).dropna()
            if {"heterogeneous", "homogeneous"} <= set(p.columns):
                d = (p["heterogeneous"] - p["homogeneous"])[_informative(p, above_chance)]
                if len(d):
                    per_seed_min.append(float(d.min()))
        _, spread = mean_sd(per_seed_min)
        rows.append(
            ClaimResult(
                PAPER,
                "heterogeneous_beats_homogeneous",
                "Heterogeneous noise is at least as accurate as homogeneous noise at each c",
                QUOTE_HETEROGENEOUS,
                "fig2",
                f"rho={rho}; {len(diff)} values of c above chance"
                + excluded(n_diverged.get(rho, 0)),
                "min over c of mean accuracy(heterogeneous) - accuracy(homogeneous)",
                float(diff.min()) if len(diff) else float("nan"),
                spread,
                int(table["seed"].nunique()),
                f"difference ≥ -{tolerance:g} at every c where either is above {above_chance:g}",
                bool(len(diff) > 0 and (diff >= -tolerance).all()),
                evidence=accuracy_group(rho),
                fails_if=f"homogeneous noise more accurate by over {tolerance:g} at some c",
            )
        )
    return rows


def heterogeneous_considerably_more_accurate(
    table: pd.DataFrame, gain: float, column: str = ACCURACY
) -> list[ClaimResult]:
    """Per ρ: at some c, heterogeneous noise is more accurate than homogeneous noise by at
    least ``gain`` (mean over seeds), and, with two seeds or more, by more than twice the
    seeds' spread of that difference at that c: "considerably" at a fixed c, not by luck
    of a seed."""
    table, n_diverged = without_diverged_by_group(table, ["rho"])
    rows = []
    for rho, g in table.groupby("rho", sort=False):
        per_seed = g.pivot_table(index=["seed", "c"], columns="noise", values=column)
        if not {"heterogeneous", "homogeneous"} <= set(per_seed.columns):
            continue
        diff = (per_seed["heterogeneous"] - per_seed["homogeneous"]).dropna()
        by_c = diff.groupby(level="c").agg(["mean", "std", "count"])
        if by_c.empty:
            continue
        best_c = float(by_c["mean"].idxmax())
        best = by_c.loc[best_c]
        sd = float(best["std"]) if best["count"] > 1 else float("nan")
        beyond_spread = not math.isfinite(sd) or best["mean"] > 2 * sd
        rows.append(
            ClaimResult(
                PAPER,
                "heterogeneous_considerably_more_accurate",
                "At some fixed c heterogeneous noise is considerably more accurate than "
                "homogeneous noise",
                QUOTE_HETEROGENEOUS,
                "fig2",
                f"rho={rho}; largest gain at c = {best_c:.3g}; {len(by_c)} values of c"
                + excluded(n_diverged.get(rho, 0)),
                "max over c of mean accuracy(heterogeneous) - accuracy(homogeneous)",
                float(best["mean"]),
                sd,
                int(best["count"]),
                f"≥ {gain:g} (accuracy, fraction) and above twice the seeds' sd at that c",
                bool(best["mean"] >= gain and beyond_spread),
                evidence=accuracy_group(rho),
                fails_if=(
                    f"at no c does heterogeneous noise gain {gain:g} over homogeneous noise, "
                    "or the gain is within twice the seeds' sd"
                ),
            )
        )
    return rows


def crossing_c(c: np.ndarray, accuracy: np.ndarray, level: float) -> float:
    """The c (log-interpolated) at which accuracy first falls below ``level``; NaN if never."""
    order = np.argsort(c)
    c, accuracy = np.asarray(c, float)[order], np.asarray(accuracy, float)[order]
    for i in range(len(c) - 1):
        if accuracy[i] >= level > accuracy[i + 1]:
            t = (accuracy[i] - level) / (accuracy[i] - accuracy[i + 1])
            return float(10 ** (np.log10(c[i]) + t * (np.log10(c[i + 1]) - np.log10(c[i]))))
    return float("nan")


def crossing_interval(c, accuracy, level: float) -> tuple[float, float]:
    """log10 of the c at which accuracy falls below ``level``, as an interval (low, high).

    Inside the grid: a point (low = high). Accuracy below the level already at the smallest
    c: (-inf, log10 c_min]. Never below the level inside the grid: [log10 c_max, +inf),
    a lower bound, which is what a setting that tolerates every c of the grid tells us.
    """
    c, accuracy = np.asarray(c, float), np.asarray(accuracy, float)
    order = np.argsort(c)
    c, accuracy = c[order], accuracy[order]
    if accuracy[0] < level:
        return -math.inf, float(np.log10(c[0]))
    x = crossing_c(c, accuracy, level)
    if math.isfinite(x):
        return float(np.log10(x)), float(np.log10(x))
    return float(np.log10(c[-1])), math.inf


def heterogeneous_tolerates_larger_c(
    table: pd.DataFrame, level: float, column: str = ACCURACY
) -> list[ClaimResult]:
    """Per ρ: the c at which accuracy falls below ``level`` is larger with heterogeneous noise.

    log10(c_het / c_hom) is an interval when a crossing lies outside the grid; the value is
    its lower end, and the claim passes when that lower end is > 0 in every seed (a bound
    that already shows the direction). Neither crossing inside the grid: undefined, FAIL.
    """
    table, n_diverged = without_diverged_by_group(table, ["rho"])
    rows = []
    for rho, g in table.groupby("rho", sort=False):
        lower_ends, n_bounds = [], 0
        for _, s in g.groupby("seed"):
            interval = {
                noise: crossing_interval(n["c"], n[column], level)
                for noise, n in s.groupby("noise")
            }
            if not {"heterogeneous", "homogeneous"} <= interval.keys():
                continue
            het, hom = interval["heterogeneous"], interval["homogeneous"]
            low = het[0] - hom[1]
            n_bounds += int(het[0] != het[1] or hom[0] != hom[1])
            lower_ends.append(low if math.isfinite(low) else float("nan"))
        value, spread = mean_sd(lower_ends)
        rows.append(
            ClaimResult(
                PAPER,
                "heterogeneous_reaches_accuracy_at_larger_c",
                f"Heterogeneous noise keeps accuracy ≥ {level:g} up to a larger c",
                QUOTE_HETEROGENEOUS,
                "fig2",
                f"rho={rho}; a crossing outside the grid (a bound) in {n_bounds} of "
                f"{len(lower_ends)} seeds{excluded(n_diverged.get(rho, 0))}",
                f"log10(c_het / c_hom) where accuracy falls below {level:g} "
                "(lower end of its interval)",
                value,
                spread,
                len(lower_ends),
                "> 0 in every seed (a lower bound > 0 counts)",
                len(lower_ends) > 0 and all(math.isfinite(r) and r > 0 for r in lower_ends),
                evidence=accuracy_group(rho),
                fails_if=(
                    f"in some seed homogeneous noise keeps accuracy ≥ {level:g} as far in c, "
                    "or neither crossing lies inside the grid"
                ),
            )
        )
    return rows


def _log_ratio_per_c(s: pd.DataFrame, above_chance: float) -> pd.Series:
    """log10(σ_hom / σ_het) of one seed at every c where either setting is above chance."""
    acc = s.pivot_table(index="c", columns="noise", values=ACCURACY)
    sig = s.pivot_table(index="c", columns="noise", values="sigma_rms")
    if not {"heterogeneous", "homogeneous"} <= set(sig.columns):
        return pd.Series(dtype=float)
    keep = _informative(acc, above_chance)
    ratio = np.log10(sig["homogeneous"] / sig["heterogeneous"])
    return ratio[keep].dropna()


def noise_reduced_slightly(
    table: pd.DataFrame, max_decades: float, above_chance: float
) -> list[ClaimResult]:
    """Fig. 2b: heterogeneous RMS σ at most that of homogeneous noise ("reduced") and at
    most ``max_decades`` below it ("slightly"), at every c where either setting is above
    chance, in every seed."""
    table, n_diverged = without_diverged_by_group(table, ["rho"])
    rows = []
    for rho, g in table.groupby("rho", sort=False):
        per_seed = [_log_ratio_per_c(s, above_chance) for _, s in g.groupby("seed")]
        per_seed = [r for r in per_seed if len(r)]
        lows = [float(r.min()) for r in per_seed]
        highs = [float(r.max()) for r in per_seed]
        medians = [float(r.median()) for r in per_seed]
        value, spread = mean_sd(medians)
        passed = bool(per_seed) and all(
            lo >= 0 and hi <= max_decades for lo, hi in zip(lows, highs, strict=True)
        )
        rng = f"[{min(lows):.2g}, {max(highs):.2g}]" if per_seed else "none"
        rows.append(
            ClaimResult(
                PAPER,
                "heterogeneous_noise_only_slightly_lower",
                "Heterogeneous noise reduces the average noise, but only slightly",
                QUOTE_SLIGHTLY,
                "fig2",
                f"rho={rho}; values of c where either setting is above chance"
                + excluded(n_diverged.get(rho, 0)),
                "log10(RMS σ homogeneous / RMS σ heterogeneous): median over c "
                f"(range over c and seeds {rng})",
                value,
                spread,
                len(per_seed),
                f"0 ≤ log10(σ_hom/σ_het) ≤ {max_decades:g} at every such c, in every seed",
                passed,
                evidence=f"Fig. 2b heterogeneous vs homogeneous noise (ρ={rho})",
                fails_if=(
                    "heterogeneous σ above homogeneous σ at some c (not reduced), or below it "
                    f"by more than {max_decades:g} decades (not slightly)"
                ),
            )
        )
    return rows


def _curve(s: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray]:
    """log10 x and accuracy of one setting of one seed, sorted by x (for interpolation)."""
    s = s[np.isfinite(s[x]) & (s[x] > 0)].sort_values(x)
    return np.log10(s[x].to_numpy(float)), s[ACCURACY].to_numpy(float)


def mean_gain_at_equal(s: pd.DataFrame, x: str, points: int = 50) -> float:
    """Mean over the overlap of the two settings' ranges of ``x`` (log-spaced) of
    accuracy(heterogeneous) − accuracy(homogeneous), each interpolated along its own
    curve in log x; NaN where the ranges do not overlap."""
    het = _curve(s[s["noise"] == "heterogeneous"], x)
    hom = _curve(s[s["noise"] == "homogeneous"], x)
    if len(het[0]) < 2 or len(hom[0]) < 2:
        return float("nan")
    low, high = max(het[0][0], hom[0][0]), min(het[0][-1], hom[0][-1])
    if not high > low:
        return float("nan")
    grid = np.linspace(low, high, points)
    return float(np.mean(np.interp(grid, *het) - np.interp(grid, *hom)))


def heterogeneous_better_at_equal(
    table: pd.DataFrame, gain: float, quantity: str
) -> list[ClaimResult]:
    """Fig. 3: at equal RMS σ (``quantity`` "sigma_rms") or equal reliability cost
    ("reliability_cost_s1"), heterogeneous noise is more accurate by at least ``gain`` on
    average over the range both curves cover, in every seed."""
    words = {"sigma_rms": "average noise σ", "reliability_cost_s1": "reliability cost (s = 1)"}
    table, n_diverged = without_diverged_by_group(table, ["rho"])
    rows = []
    for rho, g in table.groupby("rho", sort=False):
        per_seed = [mean_gain_at_equal(s, quantity) for _, s in g.groupby("seed")]
        value, spread = mean_sd(per_seed)
        rows.append(
            ClaimResult(
                PAPER,
                f"heterogeneous_more_accurate_at_equal_{quantity}",
                f"At equal {words[quantity]}, heterogeneous noise is considerably more accurate",
                QUOTE_FIG3_HET,
                "fig3",
                f"rho={rho}; the range of {quantity} both curves cover"
                + excluded(n_diverged.get(rho, 0)),
                f"mean over that range of accuracy(het) - accuracy(hom), each interpolated "
                f"along its curve in log {quantity}",
                value,
                spread,
                len(per_seed),
                f"≥ {gain:g} in every seed",
                len(per_seed) > 0 and all(math.isfinite(v) and v >= gain for v in per_seed),
                evidence=accuracy_group(rho),
                fails_if=(
                    f"the mean gain is below {gain:g} in some seed, or the two curves share no "
                    f"range of {quantity}"
                ),
            )
        )
    return rows


def training_claims(table: pd.DataFrame, criteria: dict) -> list[ClaimResult]:
    """Claims of Figures 2 and 3 from results/tables/training.csv."""
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    above = criteria["above_chance_accuracy"]
    threshold, points = criteria["monotone_spearman"], criteria["min_trend_points"]
    rows = accuracy_falls_with_c(table, threshold, above, points)
    rows += sigma_rises_with_c(table, threshold)
    if "reliability_cost_s1" in table:
        rows += accuracy_falls_with_sigma(table, threshold, above, points)
        rows += accuracy_rises_with_reliability_cost(table, threshold, above, points)
    rows += heterogeneous_at_least_as_accurate(table, criteria["accuracy_tolerance"], above)
    if "considerable_gain_at_c" in criteria:
        rows += heterogeneous_considerably_more_accurate(table, criteria["considerable_gain_at_c"])
    rows += heterogeneous_tolerates_larger_c(table, criteria["accuracy_level"])
    if "considerable_accuracy_gain" in criteria:
        for quantity in ("sigma_rms", "reliability_cost_s1"):
            if quantity in table:
                rows += heterogeneous_better_at_equal(
                    table, criteria["considerable_accuracy_gain"], quantity
                )
    if "noise_reduction_max_decades" in criteria:
        rows += noise_reduced_slightly(table, criteria["noise_reduction_max_decades"], above)
    return rows
