"""Why the accuracy transition of Figure 2 sits where it does: trained vs trivial networks.

The overall cost (Eq. 2) of a network over the whole training set (per dataset) is

    C = P + M + c R,   P = Σ_n E_ξ[-log p(y_n | x_n, w)],  M = λ Σ|μ|,  R = Σ σ^-ρ

(Eq. 3-4; in the released-code variant R also holds N σ_rms^-ρ for homogeneous networks).
A *trivial* network ignores its input and predicts at chance. Whatever its parameters,
its expected performance cost is at least N H(y), where H(y) is the entropy of the
training labels' frequencies (≈ ln 10): by Jensen's inequality E_ξ[-log p] ≥ -log E_ξ[p],
and a predictive distribution that does not depend on x has cross-entropy ≥ H(y). Its
magnitude and reliability costs are not negative, so C_trivial ≥ N H(y). (How closely a
trivial network approaches the bound is not computed here; only the bound is used.)

For a trained network θ with parts (P, M, R), its cost at any c' with θ held fixed is
P + M + c'R, linear in c'. It is cheaper than any trivial network as long as
P + M + c'R < N H(y), i.e. for c' < c_θ = (N H(y) - P - M) / R. Hence the trivial
network cannot be the global optimum at any c < c_θ (``c_beats_trivial_below``).

What the bound does not show: beyond c_θ the state costs more than N H(y)
(``above_chance_bound``), but a trivial network costs N H(y) only in the limit of no
noise cost at all, so whether some trivial network is cheaper there is not decided by
this analysis (columns and Figure 2's marker say "no trivial network is cheaper below").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # tables and figures import this module: no PyTorch at import time
    import torch


def label_entropy(labels: torch.Tensor | Sequence[int], n_classes: int = 10) -> float:
    """H(y) = -Σ_k p_k ln p_k of the label frequencies p_k, in nats (ln 10 if balanced)."""
    labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels, dtype=np.int64)
    if labels.size == 0:
        raise ValueError("label_entropy needs at least one label")
    counts = np.bincount(labels.ravel(), minlength=n_classes).astype(float)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def trivial_cost_lower_bound(labels: torch.Tensor | Sequence[int], n_classes: int = 10) -> float:
    """N H(y): the least overall cost (per dataset) of any network that ignores its input."""
    return len(labels) * label_entropy(labels, n_classes)


def overall_cost_from_parts(
    parts: dict[str, float], n_train: int, batch_size: int
) -> dict[str, float]:
    """Per-dataset costs from an epoch's mean minibatch parts (the engine's history).

    The engine records per minibatch the summed cross-entropy ``performance`` and the
    per-dataset ``magnitude`` and ``reliability`` costs; an epoch has N/B minibatches,
    so the per-dataset performance cost is (N/B) times the minibatch mean.
    """
    performance = parts["performance"] * n_train / batch_size
    magnitude, reliability = parts["magnitude"], parts["reliability"]
    return {
        "performance_cost": performance,
        "magnitude_cost": magnitude,
        "reliability_cost": reliability,
        "overall_cost": performance + magnitude + reliability,
    }


def trivial_crossing_c(
    performance: float, magnitude: float, reliability: float, c: float, trivial: float
) -> float | None:
    """c_θ = (N H(y) - P - M) / R with R = reliability / c: below c_θ this network's state
    is cheaper than every trivial network (``trivial``: the bound N H(y)). None without
    such a c (R = 0, or the network no better than the bound: N H(y) ≤ P + M)."""
    if not c > 0:
        raise ValueError(f"c must be positive, got {c!r}")
    per_unit_c = reliability / c
    margin = trivial - performance - magnitude
    if per_unit_c <= 0 or margin <= 0:
        return None
    return margin / per_unit_c


def network_cost_summary(
    parts: dict[str, float], n_train: int, batch_size: int, c: float, trivial: float
) -> dict[str, float | bool | None]:
    """Overall cost at the end of training against N H(y), the lower bound of every trivial
    network's cost: ``above_chance_bound`` (the state costs more than that bound) and
    ``c_beats_trivial_below`` (c_θ)."""
    costs = overall_cost_from_parts(parts, n_train, batch_size)
    crossing = trivial_crossing_c(
        costs["performance_cost"], costs["magnitude_cost"], costs["reliability_cost"], c, trivial
    )
    return {
        **costs,
        "chance_bound": trivial,
        "cost_minus_trivial": costs["overall_cost"] - trivial,
        "above_chance_bound": bool(costs["overall_cost"] > trivial),
        "c_beats_trivial_below": crossing,
    }


def trivial_optimum_lower_bound(crossings: Sequence[float | None]) -> float | None:
    """The largest c_θ over trained networks of one (noise, ρ): below it, some trained
    state is cheaper than every trivial network, so the trivial network is not the global
    optimum there. None if no network gives a bound."""
    values = [c for c in crossings if c is not None and math.isfinite(c)]
    return max(values) if values else None


# metrics.json written before the cost columns were named for what the bound shows.
COST_KEY_RENAMES = {
    "trivial_cost": "chance_bound",
    "trivial_cheaper": "above_chance_bound",
    "c_trivial_cheaper": "c_beats_trivial_below",
}


def cost_at_end(metrics: dict) -> dict:
    """``metrics["cost_at_end"]`` with today's key names (older files: renamed)."""
    cost = dict(metrics.get("cost_at_end") or {})
    for old, new in COST_KEY_RENAMES.items():
        if old in cost and new not in cost:
            cost[new] = cost.pop(old)
    return cost
