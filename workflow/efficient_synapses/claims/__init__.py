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
    PAPER,
    REPORTED,
    SANITY,
    ClaimResult,
    claims_markdown,
    claims_table,
    independent_claims,
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
    "posterior_claims",
    "posterior_reported",
    "posterior_sanity",
    "sigma_rises_with_c",
    "sjostrom_claims",
    "toy_claims",
    "training_claims",
    "without_diverged",
]


def all_claims(tables: dict[str, pd.DataFrame], criteria: dict, gradient: str) -> list:
    """Every row of the claims table from the workflow's tables (keys as in the claims rule)."""
    normalisation = criteria["ko_normalisation"]
    rows = training_claims(tables["training"], criteria)
    rows += curvature_claims(tables["curvature"], gradient)
    rows += importance_claims(tables["curvature"], gradient)
    rows += fisher_claims(tables["fisher_vs_hessian"], gradient)
    rows += experimental_claims(
        tables["experimental"],
        criteria["ko_paper_slope"],
        criteria["ko_slope_tolerance"],
        normalisation,
    )
    rows += biological_slope_claims(
        tables["experimental"], tables.get("nohidden_slopes"), normalisation
    )
    rows += posterior_claims(tables["posterior_slopes"])
    rows += nohidden_claims(tables["nohidden_slopes"], criteria["slope_tolerance"])
    if "toy_regression" in tables:
        rows += toy_claims(tables["toy_regression"], criteria["toy_breakdown_spearman"])
    if "training_history" in tables and "convergence_window_epochs" in criteria:
        rows += convergence_claims(
            tables["training_history"],
            criteria["convergence_window_epochs"],
            criteria["convergence_max_sigma_decades"],
            criteria["convergence_max_accuracy_change"],
        )
    rows += learning_rate_identity(tables["curvature"], gradient)
    rows += posterior_sanity(tables["posterior_slopes"])
    rows += bound_checks(tables["elbo_bound"])
    rows += posterior_reported(tables["posterior_slopes"])
    rows += eq29_slope_reported(tables["curvature"], gradient)
    return rows
