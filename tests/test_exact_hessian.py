"""Figure 5 with the exact Hessian: the subset, its rescaling and the fits."""

import numpy as np
import pytest

from efficient_synapses.artefacts import statistics_key, write_npz
from efficient_synapses.figures.exact_hessian import plot_exact_hessian
from efficient_synapses.synapses.exact_hessian import (
    eq29_slope,
    exact_hessian_rows,
    exact_hessian_table,
    exact_subset,
)

NETWORK = {
    "noise": "heterogeneous",
    "rho": "2",
    "rho_value": 2.0,
    "c_factor": 1.0,
    "c": 0.5,
    "seed": 0,
}


def statistics_arrays(rho=2.0, n_out=20, n_in=30, subset=50, n_train=600, n_examples=200):
    """A layer whose σ² follows Eq. 29 exactly in the exact H_ii of the whole training
    set, with an empirical Fisher twice as large plus a few non-positive exact values."""
    rng = np.random.default_rng(0)
    hessian_train = np.exp(rng.uniform(-2, 4, size=(n_out, n_in)))
    sigma_squared = hessian_train ** eq29_slope(rho)
    index = np.sort(rng.choice(n_out * n_in, size=subset, replace=False))
    exact = hessian_train.ravel()[index] * n_examples / n_train  # summed over n_examples
    exact[:3] = [0.0, -1.0, -0.5]
    return {
        statistics_key("sigma_squared", 2): sigma_squared,
        statistics_key("hessian", 2, "minibatch"): 2 * hessian_train,
        statistics_key("exact_hessian", 2): exact,
        statistics_key("exact_hessian_index", 2): index,
        "exact_hessian_examples": np.array(n_examples),
        "n_train": np.array(n_train),
    }


def test_eq29_slope():
    assert eq29_slope(2) == pytest.approx(-0.5)
    assert eq29_slope(0.5) == pytest.approx(-0.8)


def test_exact_subset_is_rescaled_to_the_training_set():
    arrays = statistics_arrays()
    subset = exact_subset(arrays, 2, "minibatch")
    index = arrays[statistics_key("exact_hessian_index", 2)]
    fisher = arrays[statistics_key("hessian", 2, "minibatch")].ravel()[index]
    # Beyond the three non-positive entries, exact = Fisher / 2 on the training set's scale.
    np.testing.assert_allclose(subset["exact_hessian"][3:], fisher[3:] / 2)
    assert exact_subset(arrays, 1, "minibatch") is None


def test_rows_recover_eq29_and_count_non_positive_exact_values():
    rows = exact_hessian_rows(statistics_arrays(), NETWORK, "minibatch")
    by_estimate = {row["estimate"]: row for row in rows}
    assert set(by_estimate) == {"empirical_fisher", "exact_hessian"}
    exact, fisher = by_estimate["exact_hessian"], by_estimate["empirical_fisher"]
    assert exact["slope"] == pytest.approx(-0.5)
    assert exact["spearman_r"] == pytest.approx(-1.0)
    assert exact["n_excluded"] == 3 and exact["n_used"] == 47
    # A constant factor moves the intercept, not the slope: log10(2) * 0.5 lower.
    assert fisher["slope"] == pytest.approx(-0.5)
    assert fisher["intercept"] == pytest.approx(exact["intercept"] + 0.5 * np.log10(2))
    assert fisher["n_excluded"] == 0


def test_table_and_figure(tmp_path):
    path = write_npz(tmp_path / "statistics.npz", statistics_arrays())
    networks = [NETWORK | {"path": str(path)}]
    table = exact_hessian_table(networks, "minibatch")
    assert len(table) == 2
    plot_exact_hessian(table, networks, 2, "minibatch", tmp_path / "f.pdf", tmp_path / "f.png")
    assert (tmp_path / "f.pdf").stat().st_size > 0 and (tmp_path / "f.png").stat().st_size > 0


def test_table_without_exact_subset_says_which_setting(tmp_path):
    arrays = statistics_arrays()
    del arrays[statistics_key("exact_hessian", 2)]
    path = write_npz(tmp_path / "statistics.npz", arrays)
    with pytest.raises(ValueError, match="exact_hessian_max_synapses"):
        exact_hessian_table([NETWORK | {"path": str(path)}], "minibatch")
