"""The general statistics module, against values derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from efficient_synapses import statistics as st


def test_ranks_share_ties():
    # 10 < 20 = 20 < 30: the tied pair takes the average of ranks 2 and 3.
    assert st.ranks([30.0, 10.0, 20.0, 20.0]).tolist() == [4.0, 1.0, 2.5, 2.5]


def test_spearman_by_hand():
    # Ranks x = (1, 2, 3, 4, 5), y = (2, 1, 4, 3, 5): Σd² = 4, r = 1 - 6·4/(5·24) = 0.8.
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [20.0, 10.0, 40.0, 30.0, 50.0]
    assert st.spearman(x, y) == pytest.approx(0.8)
    assert st.spearman(x, y[::-1]) == pytest.approx(-0.8)
    # Monotone but not linear: Spearman 1, Pearson below 1.
    assert st.spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert st.pearson(x, np.exp(x)) < 0.99


def test_spearman_equals_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 0.4 * x + rng.normal(size=40)
    x[5] = x[6]
    y[1] = y[2] = y[3]
    assert st.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-14)
    assert st.pearson(x, y) == pytest.approx(scipy_stats.pearsonr(x, y).statistic, abs=1e-14)


def test_spearman_row_wise():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    y = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    assert st.spearman(x, y).tolist() == [1.0, -1.0]


def test_undefined_correlations_are_nan():
    assert math.isnan(st.spearman([], []))
    assert math.isnan(st.spearman([1.0], [2.0]))
    assert math.isnan(st.spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # constant x
    assert math.isnan(st.spearman([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]))
    assert math.isnan(st.pearson([2.0, 2.0], [1.0, 5.0]))
    # Two pairs: defined by default, undefined when three are required.
    assert st.spearman([1.0, 2.0], [5.0, 3.0]) == -1.0
    assert math.isnan(st.spearman([1.0, 2.0], [5.0, 3.0], min_pairs=3))


def test_different_lengths_raise():
    with pytest.raises(ValueError, match="differ in shape"):
        st.spearman([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="differ in shape"):
        st.line_fit([1.0, 2.0, 3.0], [1.0, 2.0])


def test_line_fit_by_hand():
    # x̄ = 1.5, ȳ = 2.75; Σ dx dy = 5.5, Σ dx² = 5: slope 1.1, intercept 2.75 - 1.1·1.5 = 1.1.
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0, 5.0])
    assert st.line_fit(x, y) == pytest.approx((1.1, 1.1))
    assert st.slope(x, y) == pytest.approx(1.1)
    assert st.intercept(x, y) == pytest.approx(1.1)
    # An exact line is recovered exactly.
    assert st.line_fit(x, 3.0 - 2.0 * x) == pytest.approx((-2.0, 3.0))
    # Row-wise over a leading resample axis.
    slopes, intercepts = st.line_fit(np.stack([x, x]), np.stack([y, 2 * y]))
    assert slopes == pytest.approx([1.1, 2.2])
    assert intercepts == pytest.approx([1.1, 2.2])


def test_line_fit_undefined_is_nan():
    assert all(math.isnan(v) for v in st.line_fit([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))
    assert all(math.isnan(v) for v in st.line_fit([], []))


def test_loglog_fit_of_a_power_law_excludes_non_positive():
    x = np.array([0.0, 1.0, 10.0, 100.0, 1000.0, np.inf])
    with np.errstate(divide="ignore"):
        y = 5.0 * x**-0.5  # infinite at x = 0
    fit = st.loglog_fit(x, y)
    assert fit["slope"] == pytest.approx(-0.5)
    assert fit["intercept"] == pytest.approx(math.log10(5.0))
    assert fit["spearman_r"] == pytest.approx(-1.0)
    assert (fit["n_synapses"], fit["n_used"], fit["n_excluded"]) == (6, 4, 2)


def test_loglog_fit_needs_three_points():
    fit = st.loglog_fit([1.0, 10.0], [1.0, 10.0])
    assert math.isnan(fit["slope"]) and math.isnan(fit["spearman_r"])
    assert fit["n_used"] == 2


def test_subsample_is_seeded_sorted_and_complete_when_small():
    assert st.subsample(5, 10, seed=0).tolist() == [0, 1, 2, 3, 4]
    first = st.subsample(1000, 20, seed=3)
    assert first.tolist() == st.subsample(1000, 20, seed=3).tolist()
    assert len(set(first.tolist())) == 20 and (np.diff(first) > 0).all()
    assert first.tolist() != st.subsample(1000, 20, seed=4).tolist()


def test_bootstrap_is_reproducible_and_covers_the_true_value():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=200)
    y = 2.0 - 1.5 * x + 0.2 * rng.normal(size=200)
    statistics = {"slope": st.slope, "intercept": st.intercept, "r": st.pearson}
    first = st.bootstrap_pairs(x, y, statistics, 2000, seed=7)
    assert first == st.bootstrap_pairs(x, y, statistics, 2000, seed=7)
    assert first != st.bootstrap_pairs(x, y, statistics, 2000, seed=8)
    assert first["slope"].ci_low < -1.5 < first["slope"].ci_high
    assert first["intercept"].ci_low < 2.0 < first["intercept"].ci_high
    for estimate in first.values():
        assert estimate.ci_low <= estimate.value <= estimate.ci_high
        assert estimate.n == 200 and estimate.resamples_used == 2000


def test_bootstrap_leaves_out_undefined_resamples():
    # Three pairs, two x equal: resamples drawing only x = 0 have no slope.
    x, y = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 2.0])
    estimate = st.bootstrap_pairs(x, y, {"slope": st.slope}, 500, seed=0)["slope"]
    assert 0 < estimate.resamples_used < 500
    with pytest.raises(ValueError, match="at least two pairs"):
        st.bootstrap_pairs([1.0], [1.0], {"slope": st.slope}, 10, seed=0)


def test_regression_band_holds_the_fit():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=50)
    y = x + 0.1 * rng.normal(size=50)
    grid = np.linspace(0, 1, 11)
    fit, low, high = st.regression_band(x, y, grid, 1000, seed=5)
    slope, intercept = st.line_fit(x, y)
    assert fit == pytest.approx(intercept + slope * grid)
    assert (low <= fit).all() and (fit <= high).all()
    again = st.regression_band(x, y, grid, 1000, seed=5)
    assert all((a == b).all() for a, b in zip((fit, low, high), again, strict=True))


def test_mean_sd():
    assert st.mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)  # sd with ddof = 1
    mean, sd = st.mean_sd([4.0])
    assert mean == 4.0 and math.isnan(sd)
    assert all(math.isnan(v) for v in st.mean_sd([]))


def test_long_rows():
    row = st.long_row(4, "d", "schematic", "cost", 1.5, n=300, method="m", notes="x")
    assert list(row) == list(st.LONG_COLUMNS)
    assert row["value"] == 1.5 and math.isnan(row["ci_low"]) and row["n"] == 300
    estimate = st.Estimate(0.5, 0.1, 0.9, 30, 1000)
    row = st.estimate_row(6, "a", "ltp", "pearson_r", estimate, "bootstrap", "notes")
    assert (row["value"], row["ci_low"], row["ci_high"], row["n"]) == (0.5, 0.1, 0.9, 30)


def test_reduced_major_axis_slope_by_hand_and_symmetric():
    from efficient_synapses.statistics import rma_slope

    assert rma_slope([1, 2, 3], [2, 4, 6]) == pytest.approx(2.0)
    assert rma_slope([1, 2, 3], [6, 4, 2]) == pytest.approx(-2.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    y = 0.5 * x + rng.normal(size=500)
    # symmetric in x and y, and steeper than least squares by 1/|r| (no dilution)
    assert rma_slope(x, y) == pytest.approx(1.0 / rma_slope(y, x))
    from efficient_synapses.statistics import pearson, slope

    assert rma_slope(x, y) == pytest.approx(slope(x, y) / abs(pearson(x, y)))


def test_spearman_interval_is_fishers_z_with_fiellers_standard_error():
    from efficient_synapses.statistics import spearman_interval

    low, high = spearman_interval(0.0, 103)
    assert high == pytest.approx(np.tanh(1.959964 * 1.06 / 10), rel=1e-5) and low == -high
    assert all(np.isnan(spearman_interval(0.5, 3)))
