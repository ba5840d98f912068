"""Figure 4, computed: why optimised heterogeneous noise beats homogeneous noise.

Two synapses, a quadratic performance cost with one high-curvature (important, w1)
and one low-curvature (unimportant, w2) direction,

    performance cost(w) = ½ Σ_i H_ii (w_i - w*_i)²,    expected: ½ Σ_i H_ii σ_i²  (Eqs. 24-25)
    reliability cost(σ) = Σ_i (1/ρ) (s / σ_i)^ρ                                    (Eqs. 4, 48)

Heterogeneous noise: each σ_i at the optimum of Eq. 29 (``costs.optimal_sigma``), which
we also find by direct numerical minimisation as a check. Homogeneous noise: one σ for
both synapses, chosen so that its reliability cost equals the heterogeneous one. At equal
reliability cost the optimum has the lower expected performance cost (it is the
constrained minimum: Lagrange), which panel d shows from samples and in closed form.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ..costs import optimal_sigma
from ..statistics import long_row

# Curvatures of the performance cost: w1 important (high H), w2 unimportant (low H).
HESSIAN = (10.0, 0.5)
# ρ = 1/2 (calcium efflux) and s: chosen so that both σ are visible on one plot.
RHO = 0.5
S = 0.03
SAMPLES = 300
SEED = 4


def quadratic_performance_cost(w, hessian=HESSIAN, w_opt=(0.0, 0.0)):
    """½ Σ_i H_ii (w_i - w*_i)² over the last axis of w: the quadratic approximation of the
    performance cost with a diagonal Hessian (Eqs. 24-25)."""
    w = np.asarray(w, float)
    h, w_opt = np.asarray(hessian, float), np.asarray(w_opt, float)
    return 0.5 * np.sum(h * (w - w_opt) ** 2, axis=-1)


def expected_performance_cost(sigma, hessian=HESSIAN) -> float:
    """Eqs. 24-25 for a diagonal Hessian: E[½ Σ H_ii ξ_i² σ_i²] = ½ Σ_i H_ii σ_i²."""
    return float(0.5 * np.sum(np.asarray(hessian, float) * np.asarray(sigma, float) ** 2))


def reliability_cost_in_s(sigma, rho=RHO, s=S) -> float:
    """Σ_i (1/ρ)(s/σ_i)^ρ: Eq. 4 with c = s^ρ/ρ (Eq. 48), in NumPy
    (``costs.reliability_cost_at_s`` on tensors)."""
    return float(np.sum((s / np.asarray(sigma, float)) ** rho / rho))


def numerical_optimal_sigma(h: float, rho=RHO, s=S) -> float:
    """argmin over σ of ½ H σ² + (1/ρ)(s/σ)^ρ, found numerically (checks Eq. 29)."""
    result = optimize.minimize_scalar(
        lambda log_sigma: 0.5 * h * np.exp(2 * log_sigma) + (s * np.exp(-log_sigma)) ** rho / rho,
        bracket=(-10.0, 0.0),
        tol=1e-12,
    )
    return float(np.exp(result.x))


def homogeneous_sigma_at(reliability: float, synapses: int, rho=RHO, s=S) -> float:
    """The shared σ with Σ_i (1/ρ)(s/σ)^ρ = reliability: σ = s (synapses / (ρ R))^(1/ρ)."""
    return float(s * (synapses / (rho * reliability)) ** (1.0 / rho))


def figure4_data(
    hessian=HESSIAN, rho=RHO, s=S, samples=SAMPLES, seed=SEED, grid_points=201
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Everything Fig. 4 draws, and the numbers of panel d as table rows."""
    h = np.asarray(hessian, float)
    sigma_het = np.asarray(optimal_sigma(h, rho, s), float)  # Eq. 29
    sigma_numerical = np.array([numerical_optimal_sigma(hi, rho, s) for hi in h])
    reliability = reliability_cost_in_s(sigma_het, rho, s)
    sigma_hom = np.full(h.size, homogeneous_sigma_at(reliability, h.size, rho, s))

    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((samples, h.size))  # the same ξ for both settings
    arrays: dict[str, np.ndarray] = {
        "hessian": h,
        "rho_s": np.array([rho, s]),
        "sigma_heterogeneous": sigma_het,
        "sigma_heterogeneous_numerical": sigma_numerical,
        "sigma_homogeneous": sigma_hom,
    }
    rows = []
    for setting, sigma in (("heterogeneous", sigma_het), ("homogeneous", sigma_hom)):
        w = xi * sigma
        sample_costs = quadratic_performance_cost(w, h)
        arrays[f"samples_{setting}"] = w
        expected = expected_performance_cost(sigma, h)
        sem = float(sample_costs.std(ddof=1) / np.sqrt(samples))
        arrays[f"costs_{setting}"] = np.array(
            [expected, sample_costs.mean(), sem, reliability_cost_in_s(sigma, rho, s)]
        )
        for quantity, value, notes in (
            ("expected_performance_cost", expected, "½ Σ H_ii σ_i² (Eqs. 24-25)"),
            (
                "sampled_performance_cost",
                float(sample_costs.mean()),
                f"mean over {samples} samples, seed {seed}; standard error {sem:.3g}",
            ),
            ("reliability_cost", reliability_cost_in_s(sigma, rho, s), "Σ (1/ρ)(s/σ_i)^ρ"),
            ("sigma_w1", float(sigma[0]), f"important synapse, H = {h[0]:g}"),
            ("sigma_w2", float(sigma[1]), f"unimportant synapse, H = {h[1]:g}"),
        ):
            rows.append(
                long_row(
                    4,
                    "d" if "cost" in quantity else "c",
                    f"schematic ({setting} noise)",
                    quantity,
                    value,
                    n=samples if quantity.startswith("sampled") else np.nan,
                    method=f"H = diag{tuple(h.tolist())}, rho = {rho:g}, s = {s:g}",
                    notes=notes,
                )
            )
    extent = 3.2 * float(max(sigma_het.max(), sigma_hom.max()))
    axis = np.linspace(-extent, extent, grid_points)
    w1, w2 = np.meshgrid(axis, axis, indexing="xy")
    arrays["grid_axis"] = axis
    arrays["grid_cost"] = quadratic_performance_cost(np.stack([w1, w2], axis=-1), h)
    return rows, arrays
