"""Figure 1: the binomial quantal model and the numerically derived cost exponents."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from efficient_synapses.costs import RHO_BY_MECHANISM
from efficient_synapses.experimental import quantal


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (4, 0.5), (25, 0.05), (200, 0.9)])
def test_psp_moments_match_eqs_8_and_9(n, p):
    amplitude, probability = quantal.binomial_psp_distribution(n, p, mu=2.0)
    assert probability.sum() == pytest.approx(1.0)
    mean, sigma = quantal.psp_moments(n, p, mu=2.0)
    q = 2.0 / (n * p)
    assert mean == pytest.approx(n * p * q)  # Eq. 9: μ held fixed by q
    assert sigma == pytest.approx(np.sqrt(n * p * (1 - p)) * q)  # Eq. 8
    assert sigma == pytest.approx(2.0 * np.sqrt((1 - p) / (n * p)))  # Eq. 10


def test_fitted_exponents_match_appendix_1():
    """The model's laws are exact power laws in the chosen regimes (see quantal's docstring),
    so the fits must agree with ρ to rounding error. The tolerance 1e-9 leaves room for
    floating-point sums over the pmf (errors ~1e-15 per point), and would catch any wrong
    exponent (the nearest alternative ρ differs by 1/6)."""
    rows, arrays = quantal.figure1_data()
    fitted = {r["quantity"]: r["value"] for r in rows}
    for mechanism, rho in RHO_BY_MECHANISM.items():
        assert fitted[f"rho_fitted[{mechanism}]"] == pytest.approx(float(rho), abs=1e-9)
    assert arrays["rho_analytic"] == pytest.approx([0.5, 2 / 3, 4 / 3, 2.0])


def test_eq18_power_law_holds_only_for_small_p():
    """Eq. 18: cost ∝ (1 - p) σ^-2; the log-log slope is -2 (1 - O(p)). Over p ≤ 0.05 the
    fitted exponent is within 0.03 of 2; at large p it is far from it."""
    for p_range, close in ((quantal.EQ18_SMALL_P_RANGE, True), (quantal.EQ18_LARGE_P_RANGE, False)):
        p, sigma, cost = quantal.eq18_sweep(p_range)
        rho, _, _ = quantal.fit_exponent(sigma, cost)
        assert (abs(rho - 2.0) < 0.03) is close


def test_calcium_law_holds_at_any_p():
    # Eqs. 11-13: the odds, not p, carry the exact law, so even p near 1 gives ρ = 1/2.
    p = np.array([0.9, 0.95, 0.99])
    sigma = np.array([quantal.psp_moments(3, pi)[1] for pi in p])
    rho, _, _ = quantal.fit_exponent(sigma, quantal.calcium_cost(3, p))
    assert rho == pytest.approx(0.5, abs=1e-9)


def test_mechanism_exponents_are_the_papers():
    assert {m: r for m, (_, _, r) in quantal.MECHANISMS.items()} == {
        "calcium efflux": Fraction(1, 2),
        "vesicle membrane": Fraction(2, 3),
        "actin": Fraction(4, 3),
        "trafficking": Fraction(2),
    }
