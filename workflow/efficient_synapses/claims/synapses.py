"""Claims of Figure 5, Appendix 6 and Appendix 3: per-synapse σ² against the synapse
statistics, from curvature.csv and fisher_vs_hessian.csv.

Evidence groups: σ² against the Hessian (empirical Fisher) and against the learning rate
η_base/<|g|> come from the same minibatch gradients: one group per ρ (and per c factor).
The input rate is a quantity of its own; synapse importance against the input rate, and
the exact-Hessian relations of Appendix 3, are groups of their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..statistics import mean_sd
from ..synapses.tables import IMPORTANCE_VS_INPUT
from .core import (
    IDENTITY_TOLERANCE,
    PAPER,
    REPORTED,
    SANITY,
    ClaimResult,
    dead_fraction,
    excluded,
    sign_word,
    without_diverged,
)

# Signs the paper states for σ² against each quantity (Fig. 5, Appendix 6). The learning
# rate is the Methods' η_base/<|g|>: η_base/√<g²> is a monotone function of the same sums
# as the Hessian estimate, so its correlation is minus the Hessian's (a sanity check).
CURVATURE_SIGNS = {"hessian": -1, "learning_rate_abs": +1, "input_rate": -1}
CURVATURE_WORDS = {
    "hessian": "σ² falls with the Hessian (synapse importance)",
    "learning_rate_abs": "σ² rises with the learning rate η_base/<|g|>",
    "input_rate": "σ² falls with the input rate",
}
CURVATURE_QUOTES = {
    "hessian": 'Results: "as the importance of the synapse increased, the optimised noise '
    'level decreased" (Fig. 5a; Appendix 6: "The patterns do not appear substantially '
    'different from layer to layer")',
    "learning_rate_abs": 'Results: "the optimised synaptic variability was larger for '
    'synapses with larger learning rates" (Fig. 5; Methods: "The average learning rate '
    '... evaluated over 10 epochs following training")',
    "input_rate": 'Results: "the input rate in our simulations was negatively correlated '
    'with optimised synaptic variability" (Fig. 5)',
}
QUOTE_OTHER_C = (
    'Discussion: "the patterns of variability exhibited in Figure 5 are preserved as c is '
    "changed: this was demonstrated for values of c which are 10 times larger and 10 times "
    'smaller, Appendix 6—figure 2"'
)
QUOTE_IMPORTANCE_INPUT = (
    'Discussion: "This would suggest a tendency for synapses with higher input firing rates '
    "to be more important, and hence to have lower variability. This pattern is indeed borne "
    'out in our simulations (Figure 5b; also see Appendix 6—figure 1)"'
)
QUOTE_APPENDIX3 = (
    'Appendix 3: "the relationship between the squared gradients and the Hessian computed '
    "for real data is only approximate. But it is close enough to induce a relationship "
    'between synapse importance ... and learning rates"'
)


def _group(quantity: str, rho: str) -> str:
    if quantity == "input_rate":
        return f"Fig. 5 σ² vs input rate ({rho})"
    return f"Fig. 5 σ² vs gradient statistics ({rho})"


def curvature_claims(table: pd.DataFrame, gradient: str) -> list[ClaimResult]:
    """Fig. 5 / Appendix 6: the sign of Spearman(σ², quantity) in every seed and layer.

    Per ρ at c = s^ρ/ρ (Fig. 5, Appendix 6 fig. 1: every layer), and per c factor ≠ 1
    over every ρ (Appendix 6 fig. 2: layer 2). The scope gives the fraction of synapses
    left out as dead (no positive value on a log axis), which differs by ρ and c.
    """
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    table, n_diverged = without_diverged(table)
    note = excluded(n_diverged)
    rows = []
    for quantity, sign in CURVATURE_SIGNS.items():
        q = table[table["quantity"] == quantity]
        if quantity != "input_rate":
            q = q[q["gradient"] == gradient]
        for rho, g in q[np.isclose(q["c_factor"], 1.0)].groupby("rho", sort=False):
            per_seed = g.groupby("seed")["spearman_r"].mean()
            rows.append(
                ClaimResult(
                    PAPER,
                    f"sigma_vs_{quantity}",
                    CURVATURE_WORDS[quantity],
                    CURVATURE_QUOTES[quantity],
                    "fig5, figA6_1",
                    f"rho={rho}, layers {sorted(g['layer'].unique().tolist())}{note}"
                    + dead_fraction(g),
                    f"Spearman(σ², {quantity}), mean over layers",
                    *mean_sd(per_seed),
                    len(per_seed),
                    f"Spearman {sign_word(sign)} in every seed and layer",
                    bool((sign * g["spearman_r"] > 0).all()),
                    evidence=_group(quantity, f"ρ={rho}"),
                    fails_if="the rank correlation has the other sign (or is 0) in some "
                    "seed or layer",
                )
            )
        other = q[~np.isclose(q["c_factor"], 1.0) & (q["layer"] == 2)]
        for factor, g in other.groupby("c_factor"):
            per_seed = g.groupby("seed")["spearman_r"].mean()
            rows.append(
                ClaimResult(
                    PAPER,
                    f"sigma_vs_{quantity}_other_c",
                    CURVATURE_WORDS[quantity] + f", also with c x {factor:g}",
                    QUOTE_OTHER_C,
                    "figA6_2",
                    f"c x {factor:g}, layer 2, rho {sorted(g['rho'].unique().tolist())}{note}"
                    + dead_fraction(g),
                    f"Spearman(σ², {quantity}), mean over ρ",
                    *mean_sd(per_seed),
                    len(per_seed),
                    f"Spearman {sign_word(sign)} in every seed and ρ",
                    bool((sign * g["spearman_r"] > 0).all()),
                    evidence=_group(quantity, f"c x {factor:g}"),
                    fails_if="the rank correlation has the other sign in some seed or ρ",
                )
            )
    return rows


def importance_claims(table: pd.DataFrame, gradient: str) -> list[ClaimResult]:
    """Discussion of Fig. 5/6: synapses with higher input rates are more important:
    Spearman(H, input rate) > 0 in every seed and layer (c = s^ρ/ρ), on the synapses with
    an active presynaptic unit (a silent one gives rate 0 and H 0 and would tie the two
    by construction: those are left out, and counted in the scope)."""
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    table, n_diverged = without_diverged(table)
    q = table[
        (table["quantity"] == IMPORTANCE_VS_INPUT)
        & (table["gradient"] == gradient)
        & np.isclose(table["c_factor"], 1.0)
    ]
    rows = []
    for rho, g in q.groupby("rho", sort=False):
        per_seed = g.groupby("seed")["spearman_r"].mean()
        rows.append(
            ClaimResult(
                PAPER,
                "importance_rises_with_input_rate",
                "Synapses with higher input rates are more important (larger Hessian)",
                QUOTE_IMPORTANCE_INPUT,
                "fig5, figA6_1",
                f"rho={rho}, layers {sorted(g['layer'].unique().tolist())}"
                + excluded(n_diverged)
                + dead_fraction(g),
                f"Spearman(H_ii ({gradient} empirical Fisher), input rate), mean over layers",
                *mean_sd(per_seed),
                len(per_seed),
                "Spearman > 0 in every seed and layer",
                bool(len(g) > 0 and (g["spearman_r"] > 0).all()),
                evidence=f"Fig. 5 importance vs input rate (ρ={rho})",
                fails_if="in some seed or layer the more active inputs are not the more "
                "important ones (Spearman ≤ 0)",
            )
        )
    return rows


def learning_rate_identity(table: pd.DataFrame, gradient: str) -> list[ClaimResult]:
    """Sanity: Spearman(σ², η_base/√<g²>) = -Spearman(σ², H) for every network and layer.

    η_base/√<g²> and the empirical Fisher H ∝ <g²> come from the same sums, so their ranks
    are exactly reversed: the Eq. 7 learning-rate correlation is the Hessian one again,
    and is checked here as an identity, not counted as evidence.
    """
    table = table[
        (table["gradient"] == gradient) & table["quantity"].isin(["learning_rate", "hessian"])
    ]
    keys = [k for k in ("rho", "c_factor", "seed", "layer") if k in table]
    pivot = table.pivot_table(index=keys, columns="quantity", values="spearman_r")
    gap = (pivot["learning_rate"] + pivot["hessian"]).abs()
    per_seed = gap.groupby(level="seed").max() if "seed" in keys else gap
    return [
        ClaimResult(
            SANITY,
            "learning_rate_mirrors_hessian",
            "η_base/√<g²> (Eq. 7) ranks synapses exactly opposite to the empirical Fisher",
            "",
            "fig5, figA6_1, figA6_2",
            f"{len(gap)} (network, layer) pairs, {gradient} gradients",
            "max |Spearman(σ², learning_rate) + Spearman(σ², hessian)|",
            *mean_sd(per_seed),
            len(per_seed),
            f"≤ {IDENTITY_TOLERANCE:g} for every network and layer",
            bool(len(gap) > 0 and (gap <= IDENTITY_TOLERANCE).all()),
        )
    ]


def eq29_slope_reported(table: pd.DataFrame, gradient: str) -> list[ClaimResult]:
    """Reported: the slope of log σ² on log H per layer and ρ (c = s^ρ/ρ) against Eq. 29's
    -2/(ρ+2): Eq. 29 inside one trained network, which the paper derives for a linear model."""
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    table, n_diverged = without_diverged(table)
    q = table[
        (table["quantity"] == "hessian")
        & (table["gradient"] == gradient)
        & np.isclose(table["c_factor"], 1.0)
    ]
    rows = []
    for (layer, rho), g in q.groupby(["layer", "rho"], sort=False):
        per_seed = g.groupby("seed")["slope"].mean()
        rho_value = float(g["rho_value"].iloc[0])
        rows.append(
            ClaimResult(
                REPORTED,
                "eq29_slope_vs_hessian",
                "Slope of log σ² on log H_ii in one trained network, next to Eq. 29's -2/(ρ+2)",
                "Appendix 2, Eq. 29: σ_i = (s^ρ/H_ii)^(1/(ρ+2)) (linear model)",
                "fig5, figA6_1",
                f"layer {layer}, rho={rho}, c = s^ρ/ρ{excluded(n_diverged)}",
                "least-squares slope of log σ² on log H_ii",
                *mean_sd(per_seed),
                len(per_seed),
                "none: reported next to -2/(ρ+2)",
                None,
                -2.0 / (rho_value + 2.0),
            )
        )
    return rows


def fisher_claims(table: pd.DataFrame, gradient: str) -> list[ClaimResult]:
    """Appendix 3 as the paper states it: σ² falls with the exact Hessian diagonal and the
    learning rate η_base/<|g|> falls with it, in every network and layer (signs, on the
    synapses whose exact H_ii was computed and is positive). How closely the empirical
    Fisher ranks synapses like the exact H_ii is reported, without verdict: the paper
    calls the approximation "only approximate" and sets no threshold."""
    rows = []
    table, n_diverged = without_diverged(table)
    table = table[table["gradient"] == gradient]
    checks = (
        ("spearman_sigma_squared_exact", "sigma_falls_with_exact_hessian",
         "σ² falls with the exact Hessian diagonal (synapse importance)"),
        ("spearman_learning_rate_abs_exact", "learning_rate_falls_with_exact_hessian",
         "The learning rate η_base/<|g|> falls with the exact Hessian diagonal"),
    )  # fmt: skip
    for column, claim, statement in checks:
        if column not in table:
            continue
        for layer, g in table.groupby("layer"):
            per_seed = g.groupby("seed")[column].max()
            rows.append(
                ClaimResult(
                    PAPER,
                    claim,
                    statement,
                    QUOTE_APPENDIX3,
                    "fig5",
                    f"layer {layer}, {int(g['n_exact_positive'].min())}-"
                    f"{int(g['n_exact_positive'].max())} synapses with an exact H_ii > 0 per "
                    f"network{excluded(n_diverged)}",
                    f"Spearman({column.split('_exact')[0].removeprefix('spearman_')}, "
                    "exact H_ii), the largest over networks",
                    *mean_sd(per_seed),
                    len(per_seed),
                    "Spearman < 0 for every network",
                    bool(len(g) > 0 and (g[column] < 0).all()),
                    evidence="Appendix 3: importance on the exact Hessian",
                    fails_if="in some network the synapses with the larger exact H_ii do not "
                    "have the smaller σ² (or learning rate)",
                )
            )
    for layer, g in table.groupby("layer"):
        per_seed = g.groupby("seed")["spearman_r"].min()
        rows.append(
            ClaimResult(
                REPORTED,
                "fisher_vs_exact_hessian",
                "Spearman of the empirical Fisher with the exact Hessian diagonal",
                QUOTE_APPENDIX3,
                "fig5",
                f"layer {layer}, {gradient} gradients{excluded(n_diverged)}",
                "Spearman(empirical Fisher, exact H_ii), the smallest over networks",
                *mean_sd(per_seed),
                len(per_seed),
                "none: reported next to 1 (identical ranks)",
                None,
                1.0,
            )
        )
    return rows
