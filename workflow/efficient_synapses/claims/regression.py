"""Claims of Appendix 4 (toy regression): the predictive distributions of variational Bayes
and of the overall cost, from toy_regression.csv. One evidence group: every row comes from
the same fits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..statistics import spearman
from .core import PAPER, ClaimResult

QUOTE_TOY = (
    'Appendix 4: "We found comparable patterns for the predictive distributions learned '
    "through variational Bayes and our overall costs, albeit with some breakdown in "
    'predictive performance with higher values for ρ"'
)
TOY_GROUP = "Appendix 4 toy regression"


def toy_claims(table: pd.DataFrame, breakdown_spearman: float) -> list[ClaimResult]:
    """Appendix 4, two parts of one sentence:

    * "comparable patterns": the predictive sd is larger away from the data than on it,
      for variational Bayes and for every overall-cost fit;
    * "some breakdown in predictive performance with higher values for ρ": the expected
      negative log predictive density (``toy_regression.expected_nlpd``) of the
      overall-cost fits rises with ρ, Spearman(ρ, NLPD) > ``breakdown_spearman`` at every s.
    """
    ratio = table["predictive_sd_unobserved"] / table["predictive_sd_observed"]
    vi = table["fit"] == "variational Bayes"
    energy = table[~vi].copy()
    energy["rho_value"] = [_rho_value(r) for r in energy["rho"]]
    rows = [
        ClaimResult(
            PAPER,
            "toy_predictive_sd_larger_away_from_data",
            "Variational Bayes and the overall costs both widen their predictions away from "
            "the data",
            QUOTE_TOY,
            "figA4_1",
            f"variational Bayes (ratio {float(ratio[vi].min()):.2f}) and {len(energy)} "
            f"overall-cost fits (ratios {float(ratio[~vi].min()):.2f} to "
            f"{float(ratio[~vi].max()):.2f})",
            "mean predictive sd away from the data / on it, the smallest over fits",
            float(ratio.min()),
            float("nan"),
            1,
            "> 1 for variational Bayes and for every overall-cost fit",
            bool(len(ratio) > 0 and (ratio > 1).all()),
            evidence=TOY_GROUP,
            fails_if="some fit's predictions are no wider away from the data than on it",
        )
    ]
    if "nlpd" in energy:
        per_s = {
            s: spearman(g["rho_value"], g["nlpd"]) for s, g in energy.groupby("s") if len(g) > 1
        }
        text = ", ".join(f"s={s:g}: {r:+.2f}" for s, r in per_s.items())
        rows.append(
            ClaimResult(
                PAPER,
                "toy_predictive_performance_worse_for_larger_rho",
                "The overall cost's predictive performance breaks down as ρ rises",
                QUOTE_TOY,
                "figA4_1",
                f"overall-cost fits, every s ({text})",
                "Spearman(ρ, expected negative log predictive density over the x range), "
                "the smallest over s",
                min(per_s.values()) if per_s else float("nan"),
                float("nan"),
                1,
                f"Spearman > {breakdown_spearman:g} at every s",
                bool(per_s)
                and all(math.isfinite(r) and r > breakdown_spearman for r in per_s.values()),
                evidence=TOY_GROUP,
                fails_if="at some s the predictive density does not worsen with ρ",
            )
        )
    return rows


def _rho_value(rho) -> float:
    from ..artefacts import rho_value

    return float(rho_value(str(rho))) if str(rho) not in ("", "nan") else np.nan
