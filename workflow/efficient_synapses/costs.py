"""The terms of the overall cost (Eq. 2) and the paper's closed-form results.

All functions work on tensors or floats; reductions are sums over synapses
(the paper's Σ_i), never means, so that c and λ keep the paper's meaning.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from .artefacts import parse_rho

if TYPE_CHECKING:  # torch only where a function needs it: the analysis env has no PyTorch
    import torch

# The four biophysical mechanisms of Appendix 1 and their exponents ρ.
RHO_BY_MECHANISM = {
    "calcium efflux": Fraction(1, 2),
    "vesicle membrane": Fraction(2, 3),
    "actin": Fraction(4, 3),
    "trafficking": Fraction(2, 1),
}


def mechanism_of(rho) -> str | None:
    """The mechanism of Appendix 1 whose reliability cost has exponent ρ, or None.

    ``rho`` in any form ``artefacts.parse_rho`` reads: "2/3", "2_3", 0.5.
    """
    value = parse_rho(rho)
    return next((name for name, r in RHO_BY_MECHANISM.items() if r == value), None)


def magnitude_cost(mu: torch.Tensor, lam: float) -> torch.Tensor:
    """Eq. 3: λ Σ_i |μ_i| (a Laplace log-prior up to a constant, Eq. 38-40)."""
    return lam * mu.abs().sum()


def reliability_cost(sigma: torch.Tensor, c, rho) -> torch.Tensor:
    """Eq. 4: c Σ_i σ_i^(-ρ)."""
    return c * sigma.pow(-rho).sum()


def c_from_s(s: float, rho: float) -> float:
    """Eq. 48: c = s^ρ / ρ, so that c σ^-ρ = (1/ρ)(s/σ)^ρ."""
    return s**rho / rho


def s_from_c(c: float, rho: float) -> float:
    """Inverse of Eq. 48: s = (c ρ)^(1/ρ)."""
    return (c * rho) ** (1.0 / rho)


def reliability_cost_at_s(sigma, rho, s: float = 1.0):
    """Σ_i (1/ρ)(s/σ_i)^ρ: the reliability cost of Fig. 3, which uses s = 1."""
    return reliability_cost(sigma, c_from_s(s, rho), rho)


def entropic_cost_per_synapse(sigma: torch.Tensor) -> torch.Tensor:
    """Eq. 41: C_VI;i = -H[Q_i] = -½ ln(2πe σ_i²), per synapse."""
    import torch

    return -0.5 * torch.log(2 * math.pi * math.e * sigma.pow(2))


def biological_bound_per_synapse(sigma: torch.Tensor, rho: float, s: float) -> torch.Tensor:
    """Eq. 44: C_BI;i = (1/ρ)((s/σ_i)^ρ - 1) - ½ ln(2πe s²), per synapse.

    C_BI;i ≥ C_VI;i for every σ_i > 0 (from ln a ≤ a - 1, Eq. 43), with equality at
    σ_i = s (Eq. 53) and in the limit ρ → 0 (Eq. 52).
    """
    return ((s / sigma).pow(rho) - 1.0) / rho - 0.5 * math.log(2 * math.pi * math.e * s**2)


def entropic_reliability_cost(sigma: torch.Tensor) -> torch.Tensor:
    """Eq. 41, summed (Eq. 47): C_VI = Σ_i -H[Q_i] = -Σ_i ½ ln(2πe σ_i²)."""
    return entropic_cost_per_synapse(sigma).sum()


def biological_reliability_bound(sigma: torch.Tensor, rho: float, s: float) -> torch.Tensor:
    """Eq. 44, summed (Eq. 47): C_BI = Σ_i (1/ρ)((s/σ_i)^ρ - 1) - ½ ln(2πe s²)."""
    return biological_bound_per_synapse(sigma, rho, s).sum()


def optimal_sigma(hessian, rho: float, s: float):
    """Eq. 29: σ_i = (s^ρ / H_ii)^(1/(ρ+2)), the energy-efficient σ of a quadratic cost.

    Minimises ½ H σ² + (1/ρ)(s/σ)^ρ, i.e. performance (Eq. 24-25) + reliability cost.
    """
    return (s**rho / hessian) ** (1.0 / (rho + 2.0))


def analytic_slopes(rho: float) -> dict[str, float]:
    """Eq. 54a-c: log-log slopes of σ² against η, x² and σ²_post for a linear model."""
    return {
        "learning_rate": 4.0 / (rho + 2.0),  # Eq. 54a
        "input_rate_squared": -2.0 / (rho + 2.0),  # Eq. 54b
        "posterior_variance": 2.0 / (rho + 2.0),  # Eq. 54c
    }


def linear_model_slope(quantity: str, rho: float) -> float:
    """Slope of log σ² against log quantity for a linear model (Eq. 29, Eq. 54a); NaN otherwise.

    Eq. 29 gives σ² ∝ H^(-2/(ρ+2)); Eq. 54a gives σ² ∝ η^(4/(ρ+2)) when η ∝ H^(-1/2).
    (Eq. 54b is about <x²>, not the <|x|> plotted here, so no input-rate slope.)
    """
    if quantity == "hessian":
        return -2.0 / (rho + 2.0)
    if quantity in ("learning_rate", "learning_rate_abs"):
        return analytic_slopes(rho)["learning_rate"]
    return float("nan")
