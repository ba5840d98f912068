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
