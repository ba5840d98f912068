"""What the step by formula (``fused``) needs of an objective: per network how it pays
for its σ (heterogeneous, homogeneous in the Methods' or the released code's form, or the
variational objective), its ρ and c, λ, the prior's scale and B/N."""

from __future__ import annotations

from dataclasses import dataclass

from .model import StochasticMLP
from .objectives import EnergyEfficientObjective, VariationalObjective

# How each network pays for its σ (one code per network of a group).
HETEROGENEOUS = 0  # every synapse its own σ_i = softplus(φ_i)
SHARED = 1  # homogeneous, Methods' form: one σ = softplus(φ_shared)
SHARED_RMS = 2  # homogeneous, released code's form: sampled with σ_rms of the own σ_i
VARIATIONAL_LAPLACE = 3  # the ELBO with a Laplace prior of scale b
VARIATIONAL_GAUSSIAN = 4  # the ELBO with a Gaussian prior of sd s_p

# Elements per parallel job: a job is one stretch of one network's row of one tensor.
CHUNK = 16384


@dataclass
class Regulariser:
    """What the fused step needs of an objective: per network how it pays for σ and its
    ρ and c; λ, the prior's scale, B/N; the names of the two regulariser parts."""

    kind: tuple[int, ...]  # per network
    rho: tuple[float, ...]
    c: tuple[float, ...]
    magnitude_lambda: float
    prior_scale: float
    dataset_weight: float  # B/N
    parts: tuple[str, str]
    variational: bool


def regulariser_of(objective, model: StochasticMLP) -> Regulariser | None:
    """The objective's per-synapse terms, or None for an objective the fused step does not
    know (it then trains by autograd)."""
    k = model.n_networks
    if isinstance(objective, EnergyEfficientObjective):
        if model.homogeneous_form not in ("methods", "released_code"):
            return None
        shared = SHARED if model.homogeneous_form == "methods" else SHARED_RMS
        return Regulariser(
            kind=tuple(shared if n == "homogeneous" else HETEROGENEOUS for n in model.noise),
            rho=tuple(objective.rho.detach().cpu().double().tolist()),
            c=tuple(objective.c.detach().cpu().double().tolist()),
            magnitude_lambda=objective.magnitude_lambda,
            prior_scale=1.0,
            dataset_weight=objective.dataset_weight,
            parts=("magnitude", "reliability"),
            variational=False,
        )
    if isinstance(objective, VariationalObjective):
        if model.any_homogeneous:
            return None
        code = VARIATIONAL_LAPLACE if objective.prior == "laplace" else VARIATIONAL_GAUSSIAN
        return Regulariser(
            kind=(code,) * k,
            rho=(0.0,) * k,
            c=(0.0,) * k,
            magnitude_lambda=0.0,
            prior_scale=objective.prior_scale,
            dataset_weight=objective.dataset_weight,
            parts=("neg_log_prior", "entropy"),
            variational=True,
        )
    return None
