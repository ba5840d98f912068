"""Figure 1: the binomial quantal model (Eq. 1) and the four reliability costs (Appendix 1).

Each exponent ρ of cost ∝ σ^-ρ is *derived numerically* here, not assumed: we move
one quantal parameter (p for calcium efflux, n for the three vesicle costs) with the
PSP mean μ held fixed by the compensatory quantal size q = μ / (n p) (Appendix 1,
'quantal scaling'), compute σ from the binomial PSP distribution itself (not from
Eq. 8), evaluate the biophysical cost from its mechanism (Eqs. 11-17), and fit the
log-log slope of cost against σ.

Regimes (where the power law holds):

* calcium efflux (Eqs. 11-13): [Ca] ∝ (p / (1 - p))^(1/4) by the Hill equation with
  coefficient 4, and at fixed n the odds p / (1 - p) = μ² / (n σ²) exactly, so the
  power law σ^(-1/2) holds for every p in (0, 1); we sweep p over [0.02, 0.98].
  (It would hold only for small p if the cost were taken ∝ p^(1/4), i.e. ignoring
  the saturation of release; the odds, not p, carry the exact law.)
* vesicle membrane, actin, trafficking (Eqs. 14-17): p is fixed and n varies, so
  σ ∝ n^(-1/2) exactly and cost ∝ n r², n r, n p with r ∝ q^(1/3) = (μ / (n p))^(1/3)
  give n^(1/3), n^(2/3), n: exact power laws for every n ≥ 1.
* trafficking with n p varying through p (Eq. 18): cost ∝ n p = (1 - p) μ² / σ², a
  power law only for small p. We fit it over p in [0.001, 0.05] (where it holds to
  within 0.03) and also report the slope over p in [0.5, 0.95] to show it failing.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import stats

from ..costs import RHO_BY_MECHANISM
from ..statistics import line_fit, long_row

# Hill coefficient of vesicle release in calcium (Eq. 11; Sakaba & Neher 2001).
HILL_COEFFICIENT = 4

# Fixed quantities of the sweeps. Their values set only the cost's prefactor, never ρ.
PSP_MEAN = 1.0  # μ, fixed throughout (any unit; σ is then the coefficient of variation)
CALCIUM_N = 5  # n during the calcium sweep
VESICLE_P = 0.5  # p during the n sweeps (membrane, actin, trafficking)
CALCIUM_P_RANGE = (0.02, 0.98)
N_RANGE = (1, 400)
EQ18_SMALL_P_RANGE = (0.001, 0.05)
EQ18_LARGE_P_RANGE = (0.5, 0.95)
EQ18_N = 10

# (n, p) pairs of Fig. 1b, all with the same mean μ: p rises along a row, n down a column.
FIG1B_CASES = ((2, 0.25), (2, 0.75), (8, 0.25), (8, 0.75))


def binomial_psp_distribution(n: int, p: float, mu: float = PSP_MEAN):
    """Eq. 1: PSP = k q with k ~ Binomial(n, p) released vesicles and q = μ / (n p).

    Returns (amplitudes, probabilities) over k = 0..n.
    """
    q = mu / (n * p)
    k = np.arange(n + 1)
    return k * q, stats.binom.pmf(k, n, p)


def psp_moments(n: int, p: float, mu: float = PSP_MEAN) -> tuple[float, float]:
    """Mean and standard deviation of the PSP, summed over its distribution (not Eq. 8)."""
    amplitude, probability = binomial_psp_distribution(n, p, mu)
    mean = float(np.dot(probability, amplitude))
    variance = float(np.dot(probability, (amplitude - mean) ** 2))
    return mean, float(np.sqrt(variance))


def vesicle_radius(q):
    """Vesicle radius r ∝ q^(1/3): quantal size scales with vesicle volume (Fig. 1b)."""
    return np.asarray(q, float) ** (1.0 / 3.0)


def calcium_concentration(p, hill: int = HILL_COEFFICIENT):
    """Eq. 11 inverted: the odds p / (1 - p) ∝ [Ca]^4, so [Ca] ∝ (p / (1 - p))^(1/4)."""
    p = np.asarray(p, float)
    return (p / (1.0 - p)) ** (1.0 / hill)


def calcium_cost(n, p, mu=PSP_MEAN):
    """Eq. 12: the pump cost is proportional to the calcium to be extruded, ∝ [Ca]."""
    return calcium_concentration(p)


def membrane_cost(n, p, mu=PSP_MEAN):
    """Eq. 14: total vesicle membrane area ∝ n r²."""
    q = mu / (np.asarray(n, float) * p)
    return np.asarray(n, float) * vesicle_radius(q) ** 2


def actin_cost(n, p, mu=PSP_MEAN):
    """Eq. 16: actin length ∝ n r (each vesicle needs actin ∝ its diameter)."""
    q = mu / (np.asarray(n, float) * p)
    return np.asarray(n, float) * vesicle_radius(q)


def trafficking_cost(n, p, mu=PSP_MEAN):
    """Eq. 17: vesicles released and replenished per spike, ∝ n p."""
    return np.asarray(n, float) * np.asarray(p, float)


MECHANISMS = {
    # name: (cost function, the varied parameter, ρ of Appendix 1)
    "calcium efflux": (calcium_cost, "p", RHO_BY_MECHANISM["calcium efflux"]),
    "vesicle membrane": (membrane_cost, "n", RHO_BY_MECHANISM["vesicle membrane"]),
    "actin": (actin_cost, "n", RHO_BY_MECHANISM["actin"]),
    "trafficking": (trafficking_cost, "n", RHO_BY_MECHANISM["trafficking"]),
}


def sweep(mechanism: str, points: int = 40):
    """(n, p, σ, cost) along the mechanism's sweep at fixed μ; σ from the distribution."""
    cost_fn, varied, _ = MECHANISMS[mechanism]
    if varied == "p":
        p = np.geomspace(*CALCIUM_P_RANGE, points)
        n = np.full(points, CALCIUM_N)
    else:
        n = np.unique(np.round(np.geomspace(*N_RANGE, points)).astype(int))
        p = np.full(n.size, VESICLE_P)
    sigma = np.array([psp_moments(int(ni), float(pi))[1] for ni, pi in zip(n, p, strict=True)])
    return n, p, sigma, cost_fn(n, p)


def fit_exponent(sigma, cost) -> tuple[float, float, float]:
    """ρ as minus the OLS slope of log cost on log σ; (ρ, log prefactor, max |residual|)."""
    log_sigma, log_cost = np.log(sigma), np.log(cost)
    slope, intercept = line_fit(log_sigma, log_cost)
    residual = log_cost - (intercept + slope * log_sigma)
    return -slope, intercept, float(np.max(np.abs(residual)))


def eq18_sweep(p_range, points: int = 40, n: int = EQ18_N):
    """Trafficking cost n p with n p changed through p (Eq. 18), at fixed n and μ."""
    p = np.geomspace(*p_range, points)
    sigma = np.array([psp_moments(n, float(pi))[1] for pi in p])
    return p, sigma, trafficking_cost(n, p)


def figure1_data(points: int = 40) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Everything Fig. 1 draws: (b) PSP distributions, (c) sweeps, fits and exponents.

    Returns (rows of the exponent table, arrays for the figure).
    """
    arrays: dict[str, np.ndarray] = {}
    for i, (n, p) in enumerate(FIG1B_CASES):
        amplitude, probability = binomial_psp_distribution(n, p)
        mean, sigma = psp_moments(n, p)
        arrays |= {
            f"b{i}_amplitude": amplitude,
            f"b{i}_probability": probability,
            f"b{i}_n_p_mean_sigma": np.array([n, p, mean, sigma]),
        }
    rows = []
    for k, (mechanism, (_, varied, rho)) in enumerate(MECHANISMS.items()):
        n, p, sigma, cost = sweep(mechanism, points)
        fitted, log_prefactor, residual = fit_exponent(sigma, cost)
        arrays |= {
            f"c{k}_sigma": sigma,
            f"c{k}_cost": cost,
            f"c{k}_fit": np.array([fitted, log_prefactor]),
        }
        regime = (
            f"p in [{CALCIUM_P_RANGE[0]}, {CALCIUM_P_RANGE[1]}], n = {CALCIUM_N}"
            if varied == "p"
            else f"n in [{int(n.min())}, {int(n.max())}], p = {VESICLE_P}"
        )
        rows.append(
            _exponent_row(mechanism, fitted, rho, len(sigma), residual, f"vary {varied}; {regime}")
        )
    for label, p_range in (("small p", EQ18_SMALL_P_RANGE), ("large p", EQ18_LARGE_P_RANGE)):
        p, sigma, cost = eq18_sweep(p_range, points)
        fitted, _, residual = fit_exponent(sigma, cost)
        rows.append(
            _exponent_row(
                f"trafficking via p (Eq. 18, {label})",
                fitted,
                Fraction(2),
                len(sigma),
                residual,
                f"vary p in [{p_range[0]}, {p_range[1]}], n = {EQ18_N}; power law only as p -> 0",
            )
        )
    arrays["mechanisms"] = np.array(list(MECHANISMS))
    arrays["rho_analytic"] = np.array([float(r) for _, _, r in MECHANISMS.values()])
    arrays["rho_label"] = np.array([str(r) for _, _, r in MECHANISMS.values()])
    return rows, arrays


def _exponent_row(mechanism, fitted, rho, n, residual, regime) -> dict:
    return long_row(
        1,
        "c",
        "quantal model (Appendix 1)",
        f"rho_fitted[{mechanism}]",
        fitted,
        n=n,
        method="minus the OLS slope of log cost on log sigma, sigma from the binomial pmf",
        notes=(
            f"analytic rho = {rho} ({float(rho):.4f}); {regime}; "
            f"max |log residual| = {residual:.2g}"
        ),
    )
