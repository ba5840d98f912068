"""Claim criteria: synthetic tables that must pass, and deliberately failing ones that must fail."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from efficient_synapses.claims import (
    claims_markdown,
    claims_table,
    crossing_c,
    training_claims,
)

CRITERIA = {"monotone_spearman": 0.8, "accuracy_tolerance": 0.01, "accuracy_level": 0.5}
C = np.logspace(-3, 2, 6)


def synthetic(het_shift=1.0, flat=False, sigma_sign=1, seeds=(0, 1)):
    """Accuracy = logistic in log c; heterogeneous shifted to larger c by ``het_shift`` decades."""
    rows = []
    for seed in seeds:
        for rho in ("1/2", "2"):
            for noise, shift in (("heterogeneous", het_shift), ("homogeneous", 0.0)):
                for c in C:
                    x = np.log10(c) - shift
                    acc = 0.9 if flat else 0.1 + 0.8 / (1 + np.exp(2 * x)) + 0.001 * seed
                    rows.append(
                        {
                            "noise": noise,
                            "rho": rho,
                            "c": c,
                            "seed": seed,
                            "test_accuracy_sampled": acc,
                            "sigma_rms": float(c) ** (0.2 * sigma_sign),
                        }
                    )
    return pd.DataFrame(rows)


def verdicts(table):
    results = claims_table(training_claims(table, CRITERIA))
    return results.groupby("claim")["verdict"].apply(set).to_dict()


def test_paper_like_results_pass_every_claim():
    assert verdicts(synthetic()) == {
        "accuracy_falls_with_c": {"pass"},
        "sigma_rises_with_c": {"pass"},
        "heterogeneous_beats_homogeneous": {"pass"},
        "heterogeneous_reaches_accuracy_at_larger_c": {"pass"},
    }


def test_flat_accuracy_fails_the_trend_claim():
    v = verdicts(synthetic(flat=True))
    assert v["accuracy_falls_with_c"] == {"FAIL"}


def test_sigma_falling_with_c_fails():
    assert verdicts(synthetic(sigma_sign=-1))["sigma_rises_with_c"] == {"FAIL"}


def test_heterogeneous_worse_than_homogeneous_fails_both_comparisons():
    v = verdicts(synthetic(het_shift=-1.0))
    assert v["heterogeneous_beats_homogeneous"] == {"FAIL"}
    assert v["heterogeneous_reaches_accuracy_at_larger_c"] == {"FAIL"}


def test_crossing_c_interpolates_in_log_c():
    c = np.array([1e-2, 1e-1, 1.0, 10.0])
    acc = np.array([0.9, 0.7, 0.3, 0.1])
    # 0.5 lies halfway between 0.7 (c = 0.1) and 0.3 (c = 1) -> c = 10^-0.5
    assert crossing_c(c, acc, 0.5) == pytest.approx(10**-0.5)
    assert math.isnan(crossing_c(c, np.full(4, 0.9), 0.5))


def test_markdown_has_one_row_per_claim_and_no_missing_values():
    table = claims_table(training_claims(synthetic(), CRITERIA))
    assert not table.drop(columns=["spread"]).isna().any().any()
    md = claims_markdown(table)
    assert md.count("\n") == len(table) + 2


# --- claims of the other figures: a paper-like table passes, a broken one fails -------


def curvature_table(flip=None):
    rows = []
    for seed in (0, 1):
        for rho in ("1/2", "2"):
            for factor in (0.1, 1.0, 10.0):
                for layer in (1, 2, 3):
                    for quantity, sign in (
                        ("hessian", -1),
                        ("learning_rate", 1),
                        ("input_rate", -1),
                    ):
                        r = 0.4 * sign * (-1 if quantity == flip and layer == 2 else 1)
                        rows.append(
                            {
                                "rho": rho,
                                "c_factor": factor,
                                "seed": seed,
                                "layer": layer,
                                "quantity": quantity,
                                "gradient": "none" if quantity == "input_rate" else "minibatch",
                                "spearman_r": r,
                            }
                        )
    return pd.DataFrame(rows)


def _verdicts(results):
    return claims_table(results).groupby("claim")["verdict"].apply(set).to_dict()


def test_curvature_claims_pass_with_the_paper_signs_and_fail_with_one_flipped():
    from efficient_synapses.claims import curvature_claims

    good = _verdicts(curvature_claims(curvature_table(), "minibatch"))
    assert set(good) == {
        f"sigma_vs_{q}{s}"
        for q in ("hessian", "learning_rate", "input_rate")
        for s in ("", "_other_c")
    }
    assert all(v == {"pass"} for v in good.values())
    bad = _verdicts(curvature_claims(curvature_table(flip="learning_rate"), "minibatch"))
    assert bad["sigma_vs_learning_rate"] == {"FAIL"}
    assert bad["sigma_vs_learning_rate_other_c"] == {"FAIL"}
    assert bad["sigma_vs_hessian"] == {"pass"}


def test_fisher_claim_fails_below_the_threshold():
    from efficient_synapses.claims import fisher_claims

    table = pd.DataFrame(
        {
            "layer": [1, 1, 2, 2],
            "gradient": "minibatch",
            "seed": [0, 1, 0, 1],
            "spearman_r": [0.95, 0.9, 0.95, 0.5],
        }
    )
    v = claims_table(fisher_claims(table, "minibatch", 0.8))
    assert list(v["verdict"]) == ["pass", "FAIL"]


def experimental_table(ltp_r=-0.45, ltp_high=-0.17, ko=-0.6, ko_ci=(-1.0, -0.2)):
    rows = [
        ("sjostrom2001_ltp", "pearson_r", ltp_r, ltp_r - 0.2, ltp_high),
        ("sjostrom2001_ltp", "spearman_r", ltp_r, ltp_r - 0.2, ltp_high),
        ("ko2013", "loglog_slope[sd/mean]", ko, *ko_ci),
    ]
    return pd.DataFrame(
        [
            {"dataset": d, "quantity": q, "value": v, "ci_low": lo, "ci_high": hi, "n": 30}
            for d, q, v, lo, hi in rows
        ]
    )


def test_experimental_claims_need_intervals_that_exclude_zero():
    from efficient_synapses.claims import experimental_claims

    good = _verdicts(experimental_claims(experimental_table(), 0.62))
    assert all(v == {"pass"} for v in good.values()) and len(good) == 4
    bad = _verdicts(experimental_claims(experimental_table(ltp_high=0.1, ko_ci=(-0.5, -0.1)), 0.62))
    assert bad["sjostrom_ltp_pearson_r"] == {"FAIL"}
    assert bad["ko_slope_magnitude"] == {"FAIL"}  # -0.62 outside [-0.5, -0.1]
    assert bad["ko_slope_negative"] == {"pass"}


def posterior_table(slope_of=lambda rho: 2 / (rho + 2)):
    rows = []
    for seed in (0, 1):
        for rho, value in (("1/2", 0.5), ("2/3", 2 / 3), ("4/3", 4 / 3), ("2", 2.0)):
            rows.append(
                {
                    "rho": rho,
                    "rho_value": value,
                    "c_factor": 1.0,
                    "seed": seed,
                    "slope": slope_of(value) + 0.01 * seed,
                    "spearman_r": 0.7,
                    "analytic_slope": 2 / (value + 2),
                }
            )
    return pd.DataFrame(rows)


def test_posterior_claims_pass_on_eq54c_and_fail_on_slopes_that_fall_as_rho_falls():
    from efficient_synapses.claims import posterior_claims

    good = _verdicts(posterior_claims(posterior_table(), 0.2))
    assert all(v == {"pass"} for v in good.values())
    bad = _verdicts(posterior_claims(posterior_table(lambda rho: 0.5 + 0.4 * rho), 0.2))
    assert bad["posterior_slope_rises_as_rho_falls"] == {"FAIL"}
    assert "FAIL" in bad["posterior_slope_below_one"]  # ρ = 2: 1.3
    assert "FAIL" in bad["posterior_slope_near_analytic"]


def test_nohidden_and_bound_claims_fail_on_deliberately_wrong_inputs():
    from efficient_synapses.claims import bound_claims, nohidden_claims

    slopes = pd.DataFrame(
        {
            "quantity": ["learning_rate", "input_sq"],
            "rho": ["2", "2"],
            "seed": [0, 0],
            "slope": [1.0, -0.1],
            "analytic_slope": [1.0, -0.5],
        }
    )
    v = _verdicts(nohidden_claims(slopes, 0.2))
    assert v == {"nohidden_learning_rate_slope": {"pass"}, "nohidden_input_sq_slope": {"FAIL"}}
    bound = pd.DataFrame(
        {
            "stage": "x",
            "rho": "2",
            "c": 1.0,
            "seed": 0,
            "own_rho": [True, False],
            "rho_evaluated": [2.0, 1.0],
            "mean_gap": [0.5, 0.7],
            "min_gap": [-0.1, 0.0],
            "bound_holds": [False, True],
        }
    )
    v = _verdicts(bound_claims(bound))
    assert v == {"bound_holds": {"FAIL"}, "bound_tightens_as_rho_falls": {"FAIL"}}
