"""The paper's claims, each checked against a criterion fixed in config.yaml beforehand.

Every claim function reads saved tables and returns rows of the claims table:
the statement, the figure it belongs to, the quantity measured, its value with
its spread across seeds, the criterion, and whether it holds. A claim that fails
is reported as failing, with its numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


@dataclass
class ClaimResult:
    claim: str
    statement: str
    figure: str
    scope: str  # e.g. "rho=1/2, heterogeneous"
    quantity: str
    value: float
    spread: float  # standard deviation across seeds (NaN with one seed)
    n_seeds: int
    criterion: str
    passed: bool

    def as_row(self) -> dict:
        row = asdict(self)
        row["verdict"] = "pass" if self.passed else "FAIL"
        return row


def _seed_spearman(table: pd.DataFrame, x: str, y: str) -> list[float]:
    """Spearman correlation of x and y within each seed (NaN where undefined)."""
    out = []
    for _, g in table.groupby("seed"):
        if g[x].nunique() < 3 or g[y].nunique() < 2:
            out.append(float("nan"))
        else:
            out.append(float(spearmanr(g[x], g[y]).statistic))
    return out


def _mean_sd(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return float("nan"), float("nan")
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return float(np.mean(values)), sd


def monotone_in_c(
    table: pd.DataFrame,
    column: str,
    sign: int,
    claim: str,
    statement: str,
    figure: str,
    threshold: float,
) -> list[ClaimResult]:
    """Per ρ and noise setting: sign × Spearman(c, column) ≥ threshold in every seed."""
    rows = []
    for (rho, noise), g in table.groupby(["rho", "noise"], sort=False):
        per_seed = _seed_spearman(g, "c", column)
        value, spread = _mean_sd(per_seed)
        passed = all(math.isfinite(r) and sign * r >= threshold for r in per_seed)
        relation = "≤" if sign < 0 else "≥"
        rows.append(
            ClaimResult(
                claim,
                statement,
                figure,
                f"rho={rho}, {noise}",
                f"Spearman(c, {column})",
                value,
                spread,
                len(per_seed),
                f"Spearman {relation} {sign * threshold:g} in every seed",
                passed,
            )
        )
    return rows


def heterogeneous_at_least_as_accurate(
    table: pd.DataFrame, tolerance: float, column: str = "test_accuracy_sampled"
) -> list[ClaimResult]:
    """Per ρ: mean heterogeneous accuracy ≥ mean homogeneous accuracy − tolerance at every c."""
    rows = []
    means = table.groupby(["rho", "noise", "c"])[column].mean().unstack("noise")
    for rho, g in means.groupby(level="rho", sort=False):
        if not {"heterogeneous", "homogeneous"} <= set(g.columns):
            continue
        diff = (g["heterogeneous"] - g["homogeneous"]).dropna()
        per_seed_min = []
        for _, s in table[table["rho"] == rho].groupby("seed"):
            p = s.pivot_table(index="c", columns="noise", values=column)
            per_seed_min.append(float((p["heterogeneous"] - p["homogeneous"]).min()))
        _, spread = _mean_sd(per_seed_min)
        rows.append(
            ClaimResult(
                "heterogeneous_beats_homogeneous",
                "Heterogeneous noise is at least as accurate as homogeneous noise at each c",
                "fig2",
                f"rho={rho}",
                "min over c of mean accuracy(heterogeneous) - accuracy(homogeneous)",
                float(diff.min()),
                spread,
                table["seed"].nunique(),
                f"difference ≥ -{tolerance:g} at every c",
                bool((diff >= -tolerance).all()),
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


def heterogeneous_tolerates_larger_c(
    table: pd.DataFrame, level: float, column: str = "test_accuracy_sampled"
) -> list[ClaimResult]:
    """Per ρ: the c at which accuracy falls below ``level`` is larger with heterogeneous noise."""
    rows = []
    for rho, g in table.groupby("rho", sort=False):
        ratios = []
        for _, s in g.groupby("seed"):
            crossing = {}
            for noise, n in s.groupby("noise"):
                crossing[noise] = crossing_c(n["c"].to_numpy(), n[column].to_numpy(), level)
            if {"heterogeneous", "homogeneous"} <= crossing.keys():
                ratios.append(np.log10(crossing["heterogeneous"] / crossing["homogeneous"]))
        value, spread = _mean_sd(ratios)
        passed = len(ratios) > 0 and all(math.isfinite(r) and r > 0 for r in ratios)
        rows.append(
            ClaimResult(
                "heterogeneous_reaches_accuracy_at_larger_c",
                f"Heterogeneous noise keeps accuracy ≥ {level:g} up to a larger c",
                "fig2",
                f"rho={rho}",
                f"log10(c_het / c_hom) where accuracy crosses {level:g}",
                value,
                spread,
                len(ratios),
                "> 0 in every seed",
                passed,
            )
        )
    return rows


def training_claims(table: pd.DataFrame, criteria: dict) -> list[ClaimResult]:
    """Claims of Figures 2 and 3 from results/tables/training.csv."""
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    rows = monotone_in_c(
        table,
        "test_accuracy_sampled",
        -1,
        "accuracy_falls_with_c",
        "Accuracy falls as the reliability cost multiplier c increases",
        "fig2",
        criteria["monotone_spearman"],
    )
    rows += monotone_in_c(
        table,
        "sigma_rms",
        +1,
        "sigma_rises_with_c",
        "The synaptic noise level σ rises as c increases",
        "fig2",
        criteria["monotone_spearman"],
    )
    rows += heterogeneous_at_least_as_accurate(table, criteria["accuracy_tolerance"])
    rows += heterogeneous_tolerates_larger_c(table, criteria["accuracy_level"])
    return rows


def claims_table(results: list[ClaimResult]) -> pd.DataFrame:
    columns = [
        "claim",
        "statement",
        "figure",
        "scope",
        "quantity",
        "value",
        "spread",
        "n_seeds",
        "criterion",
        "verdict",
    ]
    return pd.DataFrame([r.as_row() for r in results])[columns]


def claims_markdown(table: pd.DataFrame) -> str:
    """The claims table as Markdown, one row per claim and scope."""
    header = "| claim | figure | scope | quantity | value ± sd (seeds) | criterion | verdict |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        spread = "" if not math.isfinite(r.spread) else f" ± {r.spread:.3g}"
        lines.append(
            f"| {r.statement} | {r.figure} | {r.scope} | {r.quantity} | "
            f"{r.value:.3g}{spread} ({r.n_seeds}) | {r.criterion} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"
