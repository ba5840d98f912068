"""Minibatch objectives for the training engine.

An objective maps (model, inputs, labels, noise generator) to a per-network
loss of shape (K,) plus its named parts for logging. The minibatch objective is
the per-dataset objective times B/N (DESIGN: scaling), i.e.

    Σ_minibatch cross-entropy + (B/N) (magnitude cost + reliability cost),

so c and λ mean the same thing whatever the batch size or training-set size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import StochasticMLP


@dataclass
class ObjectiveValue:
    loss: torch.Tensor  # (K,), what is minimised
    logits: torch.Tensor  # (K, B, n_out) of the sampled forward pass
    parts: dict[str, torch.Tensor]  # each (K,), for logging
    # Correctly classified examples of the minibatch per network (K,); None for
    # objectives without classes (regression), whose training accuracy is then NaN.
    correct: torch.Tensor | None = None


def performance_cost(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over the minibatch, per network: (K, B, C), (K, B) -> (K,)."""
    k, b, n_classes = logits.shape
    ce = F.cross_entropy(logits.reshape(k * b, n_classes), labels.reshape(k * b), reduction="none")
    return ce.reshape(k, b).sum(1)


def per_network_sum(tensors) -> torch.Tensor:
    """Σ over all synapses of each network for a list of (K, ...) tensors."""
    return sum(t.flatten(1).sum(1) for t in tensors)


class EnergyEfficientObjective:
    """Overall cost (Eq. 2): performance + magnitude (Eq. 3) + reliability cost (Eq. 4).

    ``c`` and ``rho`` hold one value per network of the group.
    """

    def __init__(
        self,
        c: Sequence[float],
        rho: Sequence[float],
        magnitude_lambda: float,
        n_train: int,
        batch_size: int,
        device="cpu",
        dtype=torch.float32,
    ):
        self.c = torch.as_tensor(list(c), dtype=dtype, device=device)
        self.rho = torch.as_tensor([float(r) for r in rho], dtype=dtype, device=device)
        self.magnitude_lambda = float(magnitude_lambda)
        self.dataset_weight = batch_size / n_train  # B/N

    def regularisers(self, model: StochasticMLP, sigmas) -> dict[str, torch.Tensor]:
        """Per-dataset magnitude and reliability costs, each (K,)."""
        mus = [t for pair in model.means() for t in pair]
        magnitude = self.magnitude_lambda * per_network_sum(m.abs() for m in mus)
        # σ^-ρ as exp(-ρ ln σ): each network has its own ρ, and a tensor-valued
        # exponent in pow() is several times slower, forward and backward.
        rho = self.rho
        reliability = self.c * sum(
            torch.exp(-rho[:, None, None] * torch.log(sw)).flatten(1).sum(1)
            + torch.exp(-rho[:, None] * torch.log(sb)).sum(1)
            for sw, sb in sigmas
        )
        return {"magnitude": magnitude, "reliability": reliability}

    def __call__(self, model: StochasticMLP, x, y, generator=None) -> ObjectiveValue:
        sigmas = model.sigmas()
        weights = model.sample_weights(generator, sigmas=sigmas)
        logits = model(x, weights)
        performance = performance_cost(logits, y)
        reg = self.regularisers(model, sigmas)
        loss = performance + self.dataset_weight * (reg["magnitude"] + reg["reliability"])
        correct = (logits.detach().argmax(-1) == y).sum(1)
        return ObjectiveValue(loss, logits, {"performance": performance, **reg}, correct)
