"""The cost terms and the paper's closed-form results against hand-derived values."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from efficient_synapses import costs
from efficient_synapses.artefacts import c_label, parse_rho, rho_label


def test_magnitude_cost_eq3():
    mu = torch.tensor([0.5, -0.25, 0.0, 2.0])
    # λ Σ|μ| = 0.1 * (0.5 + 0.25 + 0 + 2) = 0.275
    assert costs.magnitude_cost(mu, 0.1).item() == pytest.approx(0.275)


def test_reliability_cost_eq4():
    sigma = torch.tensor([0.25, 1.0, 4.0], dtype=torch.float64)
    # c Σ σ^-ρ with ρ = 1/2, c = 3: 3 * (2 + 1 + 0.5) = 10.5
    assert costs.reliability_cost(sigma, 3.0, 0.5).item() == pytest.approx(10.5)
    # ρ = 2: 3 * (16 + 1 + 1/16)
    assert costs.reliability_cost(sigma, 3.0, 2.0).item() == pytest.approx(3 * (17 + 1 / 16))


def test_c_and_s_eq48():
    # c = s^ρ / ρ: s = 0.001, ρ = 1/2 -> c = sqrt(0.001) * 2
    assert costs.c_from_s(0.001, 0.5) == pytest.approx(2 * math.sqrt(0.001))
    assert costs.c_from_s(0.001, 2.0) == pytest.approx(5e-7)
    for rho in (0.5, 2 / 3, 4 / 3, 2.0):
        assert costs.s_from_c(costs.c_from_s(0.37, rho), rho) == pytest.approx(0.37)
    # The two ways of writing the reliability cost agree: c σ^-ρ = (1/ρ)(s/σ)^ρ.
    sigma = torch.tensor([0.03, 0.2], dtype=torch.float64)
    s, rho = 0.01, 4 / 3
    direct = ((s / sigma) ** rho / rho).sum()
    assert costs.reliability_cost(sigma, costs.c_from_s(s, rho), rho).item() == pytest.approx(
        direct.item()
    )


def test_reliability_cost_at_s1_matches_fig3_definition():
    sigma = torch.tensor([0.1, 0.5], dtype=torch.float64)
    rho = 2 / 3
    expected = sum((1 / rho) * v ** (-rho) for v in (0.1, 0.5))
    assert costs.reliability_cost_at_s(sigma, rho, 1.0).item() == pytest.approx(expected)


@pytest.mark.parametrize("rho", [0.5, 2 / 3, 4 / 3, 2.0])
@pytest.mark.parametrize("hessian", [0.01, 1.0, 250.0])
def test_optimal_sigma_eq29_minimises_quadratic_cost(rho, hessian):
    """Eq. 27-29: σ* minimises ½ H σ² + (1/ρ)(s/σ)^ρ."""
    s = 0.05

    def cost(log_sigma):
        sigma = math.exp(log_sigma)
        return 0.5 * hessian * sigma**2 + (s / sigma) ** rho / rho

    result = minimize_scalar(cost, bounds=(-20, 5), method="bounded", options={"xatol": 1e-10})
    assert costs.optimal_sigma(hessian, rho, s) == pytest.approx(math.exp(result.x), rel=1e-5)
    # Closed form of Eq. 29.
    assert costs.optimal_sigma(hessian, rho, s) == pytest.approx(
        (s**rho / hessian) ** (1 / (rho + 2))
    )


@settings(max_examples=200, deadline=None)
@given(
    sigma=st.floats(1e-4, 1e2),
    s=st.floats(1e-4, 1e2),
    rho=st.sampled_from([0.5, 2 / 3, 4 / 3, 2.0, 0.05]),
)
def test_biological_cost_bounds_entropic_cost_eq44(sigma, s, rho):
    """Eq. 43-44: C_BI ≥ C_VI for every σ, s and ρ."""
    t = torch.tensor([sigma], dtype=torch.float64)
    c_bi = costs.biological_reliability_bound(t, rho, s).item()
    c_vi = costs.entropic_reliability_cost(t).item()
    assert c_bi >= c_vi - 1e-9 * max(1.0, abs(c_vi))


def test_bound_is_tight_at_sigma_equal_s_eq53():
    t = torch.tensor([0.3, 0.3], dtype=torch.float64)
    for rho in (0.5, 2.0):
        assert costs.biological_reliability_bound(t, rho, 0.3).item() == pytest.approx(
            costs.entropic_reliability_cost(t).item()
        )


def test_bound_tightens_as_rho_goes_to_zero_eq52():
    t = torch.tensor([0.01, 0.2, 3.0], dtype=torch.float64)
    c_vi = costs.entropic_reliability_cost(t).item()
    gaps = [costs.biological_reliability_bound(t, rho, 1.0).item() - c_vi for rho in (1, 0.1, 1e-3)]
    assert gaps[0] > gaps[1] > gaps[2] > 0
    # (z^ρ - 1)/ρ = ln z + ρ (ln z)²/2 + O(ρ²), so the gap is ≈ (ρ/2) Σ ln²(s/σ).
    expected = 1e-3 / 2 * (torch.log(1.0 / t) ** 2).sum().item()
    assert gaps[2] == pytest.approx(expected, rel=0.01)


def test_entropic_cost_eq41():
    # -½ ln(2πe σ²) for σ = 1
    t = torch.tensor([1.0], dtype=torch.float64)
    assert costs.entropic_reliability_cost(t).item() == pytest.approx(
        -0.5 * math.log(2 * math.pi * math.e)
    )


def test_analytic_slopes_eq54():
    slopes = costs.analytic_slopes(2.0)
    assert slopes == {
        "learning_rate": 1.0,
        "input_rate_squared": -0.5,
        "posterior_variance": 0.5,
    }
    assert costs.analytic_slopes(0.5)["posterior_variance"] == pytest.approx(0.8)


def test_eq54c_follows_from_eq29():
    """log σ² = 2/(ρ+2) log σ²_post + const when H = 1/σ²_post (Eq. 54c)."""
    rho, s = 4 / 3, 0.1
    post_var = torch.logspace(-4, 0, 9, dtype=torch.float64)
    sigma = costs.optimal_sigma(1 / post_var, rho, s)
    slope = torch.diff(torch.log(sigma**2)) / torch.diff(torch.log(post_var))
    assert torch.allclose(slope, torch.full_like(slope, 2 / (rho + 2)))


def test_rho_labels_round_trip():
    for text in ("1/2", "2/3", "4/3", "2"):
        assert parse_rho(rho_label(text)) == parse_rho(text)
    assert rho_label("2/3") == "2_3"
    assert rho_label("2") == "2"
    with pytest.raises(ValueError, match="rho"):
        parse_rho("-1")
    with pytest.raises(ValueError, match="rho"):
        parse_rho("x/2")


def test_c_label():
    assert c_label(1.0) == "1"
    assert c_label(10**-2.75) == "0.00177828"
    assert float(c_label(10**4.25)) == pytest.approx(10**4.25, rel=1e-6)
    with pytest.raises(ValueError, match="positive"):
        c_label(0.0)
