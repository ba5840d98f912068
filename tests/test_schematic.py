"""Figure 4: the computed schematic matches Eq. 29 and shows the paper's point."""

from __future__ import annotations

import numpy as np
import pytest

from efficient_synapses.costs import optimal_sigma
from efficient_synapses.experimental import schematic


@pytest.mark.parametrize("rho", [0.5, 2 / 3, 4 / 3, 2.0])
@pytest.mark.parametrize("h", [0.1, 1.0, 10.0, 300.0])
def test_eq29_is_the_numerical_minimum(rho, h):
    s = 0.03
    assert schematic.numerical_optimal_sigma(h, rho, s) == pytest.approx(
        optimal_sigma(h, rho, s), rel=1e-6
    )


def test_homogeneous_sigma_has_the_given_reliability_cost():
    sigma = schematic.homogeneous_sigma_at(1.7, 2, rho=0.5, s=0.03)
    assert schematic.reliability_cost_in_s([sigma, sigma], rho=0.5, s=0.03) == pytest.approx(1.7)


def test_figure4_data():
    rows, arrays = schematic.figure4_data()
    het, hom = arrays["costs_heterogeneous"], arrays["costs_homogeneous"]
    # Same reliability cost by construction, lower performance cost for the optimum.
    assert het[3] == pytest.approx(hom[3])
    assert het[0] < hom[0]
    # Important synapse less noisy than the unimportant one under the optimum.
    sigma = arrays["sigma_heterogeneous"]
    assert sigma[0] < arrays["sigma_homogeneous"][0] < sigma[1]
    np.testing.assert_allclose(sigma, arrays["sigma_heterogeneous_numerical"], rtol=1e-6)
    # The sample average agrees with ½ Σ H σ² within 4 standard errors.
    for expected, sampled, sem, _ in (het, hom):
        assert abs(sampled - expected) < 4 * sem
    # The optimum also has the lower overall cost (Fig. 4d).
    assert het[0] + het[3] < hom[0] + hom[3]
    assert {r["quantity"] for r in rows} >= {"expected_performance_cost", "reliability_cost"}
