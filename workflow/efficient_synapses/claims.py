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
        if g[x].nunique() < 2 or g[y].nunique() < 2:
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


# Signs the paper states for σ² against each quantity (Fig. 5, Appendix 6).
CURVATURE_SIGNS = {"hessian": -1, "learning_rate": +1, "input_rate": -1}
CURVATURE_WORDS = {
    "hessian": "σ² falls with the Hessian (synapse importance)",
    "learning_rate": "σ² rises with the learning rate",
    "input_rate": "σ² falls with the input rate",
}


def _sign_word(sign: int) -> str:
    return "< 0" if sign < 0 else "> 0"


def curvature_claims(table: pd.DataFrame, gradient: str) -> list[ClaimResult]:
    """Fig. 5 / Appendix 6: the sign of Spearman(σ², quantity) in every seed and layer.

    Per ρ at c = s^ρ/ρ (Fig. 5, Appendix 6 fig. 1: every layer), and per c factor ≠ 1
    over every ρ (Appendix 6 fig. 2: layer 2).
    """
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    rows = []
    for quantity, sign in CURVATURE_SIGNS.items():
        q = table[table["quantity"] == quantity]
        if quantity != "input_rate":
            q = q[q["gradient"] == gradient]
        for rho, g in q[np.isclose(q["c_factor"], 1.0)].groupby("rho", sort=False):
            per_seed = g.groupby("seed")["spearman_r"].mean()
            rows.append(
                ClaimResult(
                    f"sigma_vs_{quantity}",
                    CURVATURE_WORDS[quantity],
                    "fig5, figA6_1",
                    f"rho={rho}, layers {sorted(g['layer'].unique().tolist())}",
                    f"Spearman(σ², {quantity}), mean over layers",
                    *_mean_sd(per_seed),
                    len(per_seed),
                    f"Spearman {_sign_word(sign)} in every seed and layer",
                    bool((sign * g["spearman_r"] > 0).all()),
                )
            )
        for factor, g in q[~np.isclose(q["c_factor"], 1.0) & (q["layer"] == 2)].groupby("c_factor"):
            per_seed = g.groupby("seed")["spearman_r"].mean()
            rows.append(
                ClaimResult(
                    f"sigma_vs_{quantity}_other_c",
                    CURVATURE_WORDS[quantity] + f", also with c x {factor:g}",
                    "figA6_2",
                    f"c x {factor:g}, layer 2, rho {sorted(g['rho'].unique().tolist())}",
                    f"Spearman(σ², {quantity}), mean over ρ",
                    *_mean_sd(per_seed),
                    len(per_seed),
                    f"Spearman {_sign_word(sign)} in every seed and ρ",
                    bool((sign * g["spearman_r"] > 0).all()),
                )
            )
    return rows


def fisher_claims(table: pd.DataFrame, gradient: str, threshold: float) -> list[ClaimResult]:
    """Beyond the paper: the empirical Fisher ranks synapses as the exact Hessian diagonal does."""
    rows = []
    for layer, g in table[table["gradient"] == gradient].groupby("layer"):
        per_seed = g.groupby("seed")["spearman_r"].min()
        rows.append(
            ClaimResult(
                "fisher_tracks_exact_hessian",
                "The empirical Fisher tracks the exact Hessian diagonal (Appendix 3)",
                "fig5",
                f"layer {layer}, {gradient} gradients",
                "Spearman(empirical Fisher, exact H_ii), min over networks",
                *_mean_sd(per_seed),
                len(per_seed),
                f"Spearman ≥ {threshold:g} for every network",
                bool((g["spearman_r"] >= threshold).all()),
            )
        )
    return rows


def _experimental_row(table, dataset, quantity):
    row = table[(table["dataset"] == dataset) & (table["quantity"] == quantity)]
    if len(row) != 1:
        raise KeyError(f"the experimental table has {len(row)} rows for {dataset} {quantity}")
    return row.iloc[0]


def experimental_claims(table: pd.DataFrame, paper_slope: float) -> list[ClaimResult]:
    """Fig. 6: the signs of the Sjöström correlations and of the Ko slope, intervals excluding 0."""
    rows = []
    for quantity in ("pearson_r", "spearman_r"):
        r = _experimental_row(table, "sjostrom2001_ltp", quantity)
        rows.append(
            ClaimResult(
                f"sjostrom_ltp_{quantity}",
                "Synapses with higher release probability change less under LTP",
                "fig6",
                f"Sjöström LTP, n = {int(r['n'])}",
                f"{quantity}(Pr before, relative weight change) [{r['ci_low']:.2f}, "
                f"{r['ci_high']:.2f}]",
                float(r["value"]),
                float("nan"),
                0,
                "r < 0 and its bootstrap interval excludes 0",
                bool(r["value"] < 0 and r["ci_high"] < 0),
            )
        )
    r = _experimental_row(table, "ko2013", "loglog_slope[sd/mean]")
    interval = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
    rows.append(
        ClaimResult(
            "ko_slope_negative",
            "Normalised EPSP variability falls with presynaptic firing rate",
            "fig6",
            f"Ko et al., n = {int(r['n'])}",
            f"log-log slope of sd/mean on rate {interval}",
            float(r["value"]),
            float("nan"),
            0,
            "slope < 0 and its bootstrap interval excludes 0",
            bool(r["value"] < 0 and r["ci_high"] < 0),
        )
    )
    rows.append(
        ClaimResult(
            "ko_slope_magnitude",
            f"The Ko slope has magnitude {paper_slope:g}, as the paper reports",
            "fig6",
            f"Ko et al., n = {int(r['n'])}",
            f"log-log slope of sd/mean on rate {interval}",
            float(r["value"]),
            float("nan"),
            0,
            f"-{paper_slope:g} lies in the bootstrap interval",
            bool(r["ci_low"] <= -paper_slope <= r["ci_high"]),
        )
    )
    return rows


def posterior_claims(table: pd.DataFrame, tolerance: float) -> list[ClaimResult]:
    """Fig. 7: σ² and σ²_post correlate; slopes < 1, rising as ρ falls, near 2/(ρ+2)."""
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    rows = []
    base = table[np.isclose(table["c_factor"], 1.0)]
    for rho, g in base.groupby("rho", sort=False):
        per_seed = g.groupby("seed")
        analytic = float(g["analytic_slope"].iloc[0])
        slopes = per_seed["slope"].mean()
        scope = f"rho={rho}, c = 10^(-2ρ)/ρ"
        rows += [
            ClaimResult(
                "sigma_tracks_posterior",
                "Optimised σ² and the VI posterior variance correlate positively",
                "fig7",
                scope,
                "Spearman(σ², σ²_post)",
                *_mean_sd(per_seed["spearman_r"].mean()),
                len(slopes),
                "Spearman > 0 in every seed",
                bool((g["spearman_r"] > 0).all()),
            ),
            ClaimResult(
                "posterior_slope_below_one",
                "Optimised variability is less heterogeneous than the posterior (slope < 1)",
                "fig7",
                scope,
                "slope of log σ² on log σ²_post",
                *_mean_sd(slopes),
                len(slopes),
                "slope < 1 in every seed",
                bool((g["slope"] < 1).all()),
            ),
            ClaimResult(
                "posterior_slope_near_analytic",
                "The slope is near the linear-model value 2/(ρ+2) (Eq. 54c)",
                "fig7",
                scope + f", analytic {analytic:.3f}",
                "slope of log σ² on log σ²_post",
                *_mean_sd(slopes),
                len(slopes),
                f"|mean slope - 2/(ρ+2)| ≤ {tolerance:g}",
                bool(abs(slopes.mean() - analytic) <= tolerance),
            ),
        ]
    per_seed = [
        float(spearmanr(g["rho_value"], g["slope"]).statistic)
        if g["rho_value"].nunique() > 1
        else float("nan")
        for _, g in base.groupby("seed")
    ]
    rows.append(
        ClaimResult(
            "posterior_slope_rises_as_rho_falls",
            "The slope rises towards 1 as ρ falls",
            "fig7",
            "c = 10^(-2ρ)/ρ, every ρ",
            "Spearman(ρ, slope)",
            *_mean_sd(per_seed),
            len(per_seed),
            "Spearman < 0 in every seed",
            all(math.isfinite(r) and r < 0 for r in per_seed),
        )
    )
    return rows


def nohidden_claims(table: pd.DataFrame, tolerance: float) -> list[ClaimResult]:
    """Appendix 5: with no hidden layer the fitted slopes match Eq. 54a-c."""
    rows = []
    words = {
        "learning_rate": "σ² vs learning rate: slope 4/(ρ+2) (Eq. 54a)",
        "input_sq": "σ² vs <x²>: slope -2/(ρ+2) (Eq. 54b)",
        "posterior_variance": "σ² vs σ²_post: slope 2/(ρ+2) (Eq. 54c)",
    }
    for quantity, g in table.groupby("quantity", sort=False):
        deviation = (g["slope"] - g["analytic_slope"]).abs()
        per_seed = (g.assign(d=deviation)).groupby("seed")["d"].max()
        rows.append(
            ClaimResult(
                f"nohidden_{quantity}_slope",
                "With no hidden layer the simulated slopes match the analytic ones: "
                + words.get(quantity, quantity),
                "figA5_1",
                f"every ρ ({g['rho'].nunique()})",
                "max over ρ of |fitted - analytic slope|",
                *_mean_sd(per_seed),
                len(per_seed),
                f"≤ {tolerance:g} for every ρ and seed",
                bool((deviation <= tolerance).all()),
            )
        )
    return rows


def bound_claims(table: pd.DataFrame) -> list[ClaimResult]:
    """Appendix 4: C_BI ≥ C_VI for every trained network; the gap closes as ρ → 0."""
    own = table[table["own_rho"].astype(bool)]
    rows = [
        ClaimResult(
            "bound_holds",
            "The biological reliability cost bounds the entropic one: C_BI ≥ C_VI (Eq. 44)",
            "appendix 4",
            f"{len(own)} trained networks",
            "min over networks and synapses of C_BI;i - C_VI;i",
            float(own["min_gap"].min()),
            float("nan"),
            int(own["seed"].nunique()),
            "≥ 0 for every synapse of every network",
            bool(own["bound_holds"].all()),
        )
    ]
    shrinking = []
    for _, g in table.groupby(["stage", "rho", "c", "seed"]):
        gaps = g.sort_values("rho_evaluated", ascending=False)["mean_gap"].to_numpy()
        shrinking.append(len(gaps) < 2 or bool(np.all(np.diff(gaps) <= 1e-12)))
    rows.append(
        ClaimResult(
            "bound_tightens_as_rho_falls",
            "At fixed σ and s the bound tightens as ρ → 0 (Eq. 50-52)",
            "appendix 4",
            f"{len(shrinking)} trained networks",
            "fraction of networks whose mean gap falls with ρ",
            float(np.mean(shrinking)),
            float("nan"),
            int(table["seed"].nunique()),
            "the mean gap falls monotonically as ρ decreases, for every network",
            bool(all(shrinking)),
        )
    )
    return rows


def all_claims(tables: dict[str, pd.DataFrame], criteria: dict, gradient: str) -> list:
    """Every claim of the paper from the workflow's tables (keys as in the claims rule)."""
    rows = training_claims(tables["training"], criteria)
    rows += curvature_claims(tables["curvature"], gradient)
    rows += fisher_claims(tables["fisher_vs_hessian"], gradient, criteria["fisher_spearman"])
    rows += experimental_claims(tables["experimental"], criteria["ko_paper_slope"])
    rows += posterior_claims(tables["posterior_slopes"], criteria["slope_tolerance"])
    rows += nohidden_claims(tables["nohidden_slopes"], criteria["slope_tolerance"])
    rows += bound_claims(tables["elbo_bound"])
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
    header = "| claim | figure | scope | quantity | value ± sd over seeds | criterion | verdict |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        spread = "" if not math.isfinite(r.spread) else f" ± {r.spread:.3g}"
        seeds = f" ({r.n_seeds} seeds)" if r.n_seeds > 0 else ""
        value = f"{r.value:.3g}" if math.isfinite(r.value) else "undefined"
        lines.append(
            f"| {r.statement} | {r.figure} | {r.scope} | {r.quantity} | "
            f"{value}{spread}{seeds} | {r.criterion} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"
