"""The claims table: what the paper claims, what holds by construction, what we only report.

One module per figure family, each readable on its own:

* ``core``: the row (``ClaimResult``), its kinds, evidence groups, the table and Markdown;
* ``tradeoff``: Figures 2 and 3 (training.csv);
* ``synapses``: Figure 5, Appendix 6 and Appendix 3 (curvature.csv, fisher_vs_hessian.csv);
* ``experimental``: Figure 6 and Appendix 5's biological slope (experimental.csv);
* ``posterior``: Figure 7, Appendix 5's network without hidden layer, Appendix 4's bound;
* ``regression``: Appendix 4's toy regression (toy_regression.csv);
* ``convergence``: the Methods' "rapid convergence" (training_history.csv).

``all_claims`` assembles every row from the workflow's tables.
"""

from __future__ import annotations

import pandas as pd

from .convergence import convergence_claims
from .core import (
    COLUMNS,
    IDENTITY_TOLERANCE,
    KINDS,
    NO_VERDICT,
    NOT_EVALUABLE,
    PAPER,
    REPORTED,
    SANITY,
    ClaimResult,
    claims_markdown,
    claims_table,
    independent_claims,
    not_evaluable,
    without_diverged,
)
from .experimental import (
    biological_slope_claims,
    experimental_claims,
    ko_claims,
    sjostrom_claims,
)
from .posterior import (
    FIG7_MEASURED,
    bound_checks,
    nohidden_claims,
    posterior_claims,
    posterior_reported,
    posterior_sanity,
)
from .regression import toy_claims
from .synapses import (
    curvature_claims,
    eq29_slope_reported,
    fisher_claims,
    importance_claims,
    learning_rate_identity,
)
from .tradeoff import (
    above_chance_part,
    accuracy_falls_with_c,
    crossing_c,
    crossing_interval,
    heterogeneous_at_least_as_accurate,
    heterogeneous_better_at_equal,
    heterogeneous_considerably_more_accurate,
    heterogeneous_tolerates_larger_c,
    mean_gain_at_equal,
    noise_reduced_slightly,
    sigma_rises_with_c,
    training_claims,
)

__all__ = [
    "COLUMNS",
    "FIG7_MEASURED",
    "IDENTITY_TOLERANCE",
    "KINDS",
    "NO_VERDICT",
    "NOT_EVALUABLE",
    "PAPER",
    "REPORTED",
    "SANITY",
    "ClaimResult",
    "above_chance_part",
    "accuracy_falls_with_c",
    "all_claims",
    "biological_slope_claims",
    "bound_checks",
    "claims_markdown",
    "claims_table",
    "convergence_claims",
    "crossing_c",
    "crossing_interval",
    "curvature_claims",
    "eq29_slope_reported",
    "experimental_claims",
    "fisher_claims",
    "heterogeneous_at_least_as_accurate",
    "heterogeneous_better_at_equal",
    "heterogeneous_considerably_more_accurate",
    "heterogeneous_tolerates_larger_c",
    "importance_claims",
    "independent_claims",
    "ko_claims",
    "learning_rate_identity",
    "mean_gain_at_equal",
    "noise_reduced_slightly",
    "nohidden_claims",
    "not_evaluable",
    "posterior_claims",
    "posterior_reported",
    "posterior_sanity",
    "sigma_rises_with_c",
    "sjostrom_claims",
    "toy_claims",
    "training_claims",
    "without_diverged",
]


# What each family of claims needs, and what a run that lacks it misses: the table, and the
# networks or data behind it (for "not evaluable on this run" rows).
NEEDS = {
    "training": "the Figure 2/3 networks (results/tables/training.csv)",
    "curvature": "the Figure 5 networks' statistics (results/tables/curvature.csv)",
    "fisher_vs_hessian": "the Figure 5 networks' exact Hessians (fisher_vs_hessian.csv)",
    "experimental": "the Figure 6 data (results/tables/experimental.csv)",
    "posterior_slopes": "the Figure 7 networks and their variational fits (posterior_slopes.csv)",
    "nohidden_slopes": "the network without hidden layer of Appendix 5 (nohidden_slopes.csv)",
    "elbo_bound": "trained networks and their posteriors (elbo_bound.csv)",
    "toy_regression": "Appendix 4's toy regression (toy_regression.csv)",
    "training_history": "per-epoch histories (training_history.csv)",
}
FAMILIES = {  # the claims each table carries, as a reader would name them
    "training": ("figs2_3", "The claims of Figures 2 and 3", "Results, Figures 2 and 3", "fig2"),
    "curvature": ("fig5", "The claims of Figure 5 and Appendix 6", "Results, Figure 5", "fig5"),
    "fisher_vs_hessian": (
        "appendix3",
        "Appendix 3: the empirical Fisher and the Hessian",
        "Appendix 3",
        "fig5",
    ),
    "experimental": ("fig6", "The claims of Figure 6", "Results, Figure 6", "fig6"),
    "posterior_slopes": ("fig7", "The claims of Figure 7", "Results, Figure 7", "fig7"),
    "nohidden_slopes": ("appendix5", "Appendix 5's slopes", "Appendix 5", "figA5_1"),
    "elbo_bound": ("appendix4_bound", "Appendix 4's bound", "Appendix 4", "elbo_bound"),
    "toy_regression": ("appendix4", "Appendix 4's toy regression", "Appendix 4", "figA4_1"),
    "training_history": (
        "convergence",
        "The Methods' rapid convergence",
        "Methods",
        "training_history",
    ),
}


def _present(tables: dict[str, pd.DataFrame], name: str) -> bool:
    return name in tables and tables[name] is not None and not tables[name].empty


def all_claims(tables: dict[str, pd.DataFrame], criteria: dict, gradient: str) -> list:
    """Every row of the claims table from the workflow's tables (keys as in the claims
    rule). A table a run lacks (absent or empty) gives one "not evaluable on this run" row
    for its family of claims, naming what it needs, and nothing that depends on it."""
    normalisation = criteria["ko_normalisation"]
    have = {name for name in NEEDS if _present(tables, name)}
    rows = [
        not_evaluable(f"{FAMILIES[name][0]}_not_evaluable", *FAMILIES[name][1:], NEEDS[name])
        for name in NEEDS
        if name not in have
        and not (name == "training_history" and "convergence_window_epochs" not in criteria)
    ]
    if "training" in have:
        rows += training_claims(tables["training"], criteria)
    if "curvature" in have:
        rows += curvature_claims(tables["curvature"], gradient)
        rows += importance_claims(tables["curvature"], gradient)
    if "fisher_vs_hessian" in have:
        rows += fisher_claims(tables["fisher_vs_hessian"], gradient)
    if "experimental" in have:
        rows += experimental_claims(
            tables["experimental"],
            criteria["ko_paper_slope"],
            criteria["ko_slope_tolerance"],
            normalisation,
        )
        rows += biological_slope_claims(
            tables["experimental"], tables.get("nohidden_slopes"), normalisation
        )
    if "posterior_slopes" in have:
        rows += posterior_claims(tables["posterior_slopes"])
    if "nohidden_slopes" in have:
        rows += nohidden_claims(tables["nohidden_slopes"], criteria["slope_tolerance"])
    if "toy_regression" in have:
        rows += toy_claims(tables["toy_regression"], criteria["toy_breakdown_spearman"])
    if "training_history" in have and "convergence_window_epochs" in criteria:
        rows += convergence_claims(
            tables["training_history"],
            criteria["convergence_window_epochs"],
            criteria["convergence_max_sigma_decades"],
            criteria["convergence_max_accuracy_change"],
        )
    if "curvature" in have:
        rows += learning_rate_identity(tables["curvature"], gradient)
    if "posterior_slopes" in have:
        rows += posterior_sanity(tables["posterior_slopes"])
    if "elbo_bound" in have:
        rows += bound_checks(tables["elbo_bound"])
    if "posterior_slopes" in have:
        rows += posterior_reported(tables["posterior_slopes"])
    if "curvature" in have:
        rows += eq29_slope_reported(tables["curvature"], gradient)
    return rows
