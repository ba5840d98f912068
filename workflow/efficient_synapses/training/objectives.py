"""Minibatch objectives for the training engine.

An objective maps (model, inputs, labels, noise generator) to a per-network
loss of shape (K,) plus its named parts for logging. The minibatch objective is
the per-dataset objective (Eq. 2) times B/N, i.e.

    Σ_minibatch cross-entropy + (B/N) (magnitude cost + reliability cost),

so c and λ mean the same thing whatever the batch size or training-set size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import SigmaParts, StochasticMLP


@dataclass
class ObjectiveValue:
    loss: torch.Tensor  # (K,), what is minimised
    logits: torch.Tensor  # (K, B, n_out) of the sampled forward pass
    parts: dict[str, torch.Tensor]  # each (K,), for logging
    # Correctly classified examples of the minibatch per network (K,); None for
    # objectives without classes (regression), whose training accuracy is then NaN.
    correct: torch.Tensor | None = None


# A performance cost maps (outputs (K, B, n_out), targets (K, B)) to its sum over the
# minibatch per network (K,): the negative log-likelihood -log P(y | x, w) (Eq. 37).
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def performance_cost(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over the minibatch, per network: (K, B, C), (K, B) -> (K,)."""
    k, b, n_classes = logits.shape
    ce = F.cross_entropy(logits.reshape(k * b, n_classes), labels.reshape(k * b), reduction="none")
    return ce.reshape(k, b).sum(1)


def gaussian_performance_cost(noise_sd: float) -> Loss:
    """Eq. 19-20 (up to a constant): -log N(y; f(x), ε²) = (y - f(x))² / (2ε²), summed.

    For regression with one output: the linear model of Appendix 2 and the toy
    regression of Appendix 4.
    """

    def loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs[..., 0] - targets).pow(2).sum(-1) / (2.0 * noise_sd**2)

    return loss


def correct_count(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
    """Correctly classified examples per network (K,); None for regression targets."""
    if targets.is_floating_point():
        return None
    return (outputs.detach().argmax(-1) == targets).sum(1)


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
        loss: Loss = performance_cost,
    ):
        self.c = torch.as_tensor(list(c), dtype=dtype, device=device)
        self.rho = torch.as_tensor([float(r) for r in rho], dtype=dtype, device=device)
        self.magnitude_lambda = float(magnitude_lambda)
        self.dataset_weight = batch_size / n_train  # B/N
        self.loss = loss

    def regularisers(self, model: StochasticMLP, parts: SigmaParts) -> dict[str, torch.Tensor]:
        """Per-dataset magnitude and reliability costs, each (K,), from the step's σ
        (``model.sigma_parts()``).

        Methods' form: c Σ_i σ_i^-ρ (Eq. 4) over the σ the weights are sampled with,
        so a homogeneous network pays N c σ^-ρ. Released code's form
        (``model.homogeneous_form``, the released-code variant's): every synapse pays
        for its own σ_i, c Σ_i σ_i^-ρ, and a homogeneous network pays in addition
        N c σ_rms^-ρ for the shared σ_rms it is sampled with (sims-fig2and3.py,
        ``uniform=True``); at the optimum all σ_i are equal, so it effectively pays 2c.
        """
        mus = [t for pair in model.means() for t in pair]
        magnitude = self.magnitude_lambda * per_network_sum(m.abs() for m in mus)
        if parts.shared is not None:  # every network homogeneous, the Methods' form
            power = torch.exp(-self.rho * torch.log(parts.shared))
            reliability = self.c * model.n_synapses * power
        elif model.homogeneous_form == "released_code":
            reliability = self.c * self._sum_sigma_power(parts.own)
            if parts.own_rms is not None:
                shared = model.n_synapses * torch.exp(-self.rho * torch.log(parts.own_rms))
                homogeneous = model.homogeneous.to(shared.dtype)
                reliability = reliability + self.c * homogeneous * shared
        else:
            reliability = self.c * self._sum_sigma_power(parts.sampled)
        return {"magnitude": magnitude, "reliability": reliability}

    def _sum_sigma_power(self, sigmas) -> torch.Tensor:
        """Σ_i σ_i^-ρ per network (K,) over every weight and threshold."""
        # σ^-ρ as exp(-ρ ln σ): each network has its own ρ, and a tensor-valued
        # exponent in pow() is several times slower, forward and backward.
        rho = self.rho
        return sum(
            torch.exp(-rho[:, None, None] * torch.log(sw)).flatten(1).sum(1)
            + torch.exp(-rho[:, None] * torch.log(sb)).sum(1)
            for sw, sb in sigmas
        )

    def __call__(self, model: StochasticMLP, x, y, generator=None) -> ObjectiveValue:
        # The sampling σ and the reliability cost share one computation of the σ_i.
        parts = model.sigma_parts()
        weights = model.sample_weights(generator, sigmas=parts.sampled)
        logits = model(x, weights)
        performance = self.loss(logits, y)
        reg = self.regularisers(model, parts)
        loss = performance + self.dataset_weight * (reg["magnitude"] + reg["reliability"])
        return ObjectiveValue(
            loss, logits, {"performance": performance, **reg}, correct_count(logits, y)
        )


PRIORS = ("laplace", "gaussian")


def expected_abs(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """E|w| for w ~ N(μ, σ²) (mean of the folded normal): σ√(2/π) e^(-μ²/2σ²) + μ erf(μ/σ√2)."""
    z = mu / sigma
    return sigma * math.sqrt(2.0 / math.pi) * torch.exp(-0.5 * z * z) + mu * torch.erf(
        z / math.sqrt(2.0)
    )


def expected_neg_log_prior(
    mu: torch.Tensor, sigma: torch.Tensor, prior: str, prior_scale: float
) -> torch.Tensor:
    """E_Q[-log P(w_i)] per synapse for Q(w_i) = N(μ_i, σ_i²), in closed form.

    laplace, scale b (Eq. 38-39 with b = 1/λ): ln(2b) + E|w_i| / b, so that minimising
        it is the magnitude cost λ Σ|μ_i| (Eq. 40) once σ_i → 0;
    gaussian, standard deviation s_p: ½ ln(2π s_p²) + (μ_i² + σ_i²) / (2 s_p²).
    """
    if prior == "laplace":
        return math.log(2.0 * prior_scale) + expected_abs(mu, sigma) / prior_scale
    if prior == "gaussian":
        return 0.5 * math.log(2.0 * math.pi * prior_scale**2) + (mu * mu + sigma * sigma) / (
            2.0 * prior_scale**2
        )
    raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class _VariationalRegularisers(torch.autograd.Function):
    """Per-network sums of E_Q[-log P(w_i)] (Eq. 38-39) and C_VI;i (Eq. 41), fused.

    For one stacked (K, ...) tensor of means μ and one of standard deviations σ, returns
    (Σ_i E_Q[-log P(w_i)], Σ_i -½ ln(2πe σ_i²)), each (K,), the same values, operation
    for operation, as ``expected_neg_log_prior`` and ``entropic_cost_per_synapse``
    summed per network. Autograd through those elementwise chains (division, square,
    exp, erf, log, each with its own backward node and temporaries) made a K = 12
    variational step on one CPU thread about 1.4 times as costly as an energy-objective
    step; here the backward is the closed form, a few passes over the synapses:

        laplace, scale b:  ∂E|w|/∂μ = erf(z/√2),  ∂E|w|/∂σ = √(2/π) e^(-z²/2),  z = μ/σ;
        gaussian, sd s_p:  ∂/∂μ = μ/s_p²,  ∂/∂σ = σ/s_p²;
        entropy:           ∂(-½ ln(2πe σ²))/∂σ = -1/σ.

    First derivatives only (``once_differentiable``): the saved e^(-z²/2) and erf(z/√2)
    are not themselves differentiable, and no caller takes a second derivative of the
    ELBO.
    """

    @staticmethod
    def forward(mu, sigma, prior: str, prior_scale: float):
        # In-place on temporaries of our own: each fresh (K, n) buffer is a page-faulting
        # allocation on the CPU. The expressions and their order of rounding are those
        # of expected_abs / expected_neg_log_prior, so the values are the same.
        if prior == "laplace":
            z = mu / sigma
            gauss = torch.exp(-0.5 * z * z)  # e^(-z²/2), kept for ∂/∂σ
            erf = z.div_(math.sqrt(2.0)).erf_()  # erf(z/√2), kept for ∂/∂μ
            value = (sigma * _SQRT_2_OVER_PI).mul_(gauss).add_(mu * erf)
            value.div_(prior_scale).add_(math.log(2.0 * prior_scale))
        elif prior == "gaussian":
            gauss = erf = None
            value = (mu * mu).add_(sigma * sigma).div_(2.0 * prior_scale**2)
            value.add_(0.5 * math.log(2.0 * math.pi * prior_scale**2))
        else:
            raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
        neg_log_prior = value.flatten(1).sum(1)
        # Σ_i -½ ln(2πe σ_i²): the factor -½ (exact in binary) after the sum saves a pass.
        entropic = (sigma * sigma).mul_(2 * math.pi * math.e).log_().flatten(1).sum(1)
        return neg_log_prior, entropic.mul_(-0.5), gauss, erf

    @staticmethod
    def setup_context(ctx, inputs, output):
        mu, sigma, prior, prior_scale = inputs
        _, _, gauss, erf = output
        ctx.prior, ctx.prior_scale = prior, prior_scale
        if prior == "laplace":
            ctx.save_for_backward(sigma, gauss, erf)
        else:
            ctx.save_for_backward(mu, sigma)
        ctx.mark_non_differentiable(*(t for t in (gauss, erf) if t is not None))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_prior, grad_entropic, _gauss, _erf):
        # grad_* are per network (K,): broadcast them over the network's synapses.
        shape = (-1,) + (1,) * (ctx.saved_tensors[0].dim() - 1)
        grad_prior = grad_prior.reshape(shape)
        grad_entropic = grad_entropic.reshape(shape)
        need_mu, need_sigma = ctx.needs_input_grad[:2]
        grad_mu = grad_sigma = None
        if ctx.prior == "laplace":
            sigma, gauss, erf = ctx.saved_tensors
            scaled = grad_prior / ctx.prior_scale  # ∂(ln 2b + E|w|/b) = ∂E|w| / b
            if need_mu:
                grad_mu = erf * scaled
            if need_sigma:
                grad_sigma = gauss * (scaled * _SQRT_2_OVER_PI)
        else:
            mu, sigma = ctx.saved_tensors
            scaled = grad_prior / ctx.prior_scale**2
            if need_mu:
                grad_mu = mu * scaled
            if need_sigma:
                grad_sigma = sigma * scaled
        if need_sigma:
            grad_sigma.addcdiv_(-grad_entropic.expand_as(sigma), sigma)  # -1/σ of C_VI;i
        return grad_mu, grad_sigma, None, None


def variational_regularisers(
    mu: torch.Tensor, sigma: torch.Tensor, prior: str, prior_scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_i E_Q[-log P(w_i)] (Eq. 38-39), Σ_i C_VI;i = -Σ_i ½ ln(2πe σ_i²) (Eq. 41)).

    Sums over every dimension but the first (the K stacked networks), for Q(w_i) =
    N(μ_i, σ_i²); each (K,). The values of ``expected_neg_log_prior`` and
    ``entropic_cost_per_synapse`` summed per network, with a closed-form backward.
    """
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    neg_log_prior, entropic, _, _ = _VariationalRegularisers.apply(
        mu, sigma, prior, float(prior_scale)
    )
    return neg_log_prior, entropic


class VariationalObjective:
    """Negative ELBO (Eq. 33, 36) for Bayes by backprop (Blundell et al. 2015).

    Q is the network's own factorised Gaussian over every weight and bias
    (Eq. 34, w = μ + σξ, Eq. 35), so variational inference is one more objective of
    the same stochastic network and the same engine:

        -ELBO = E_Q[-log P(y | x, w)] + E_Q[-log P(w)] - H[Q]

    per minibatch: Σ_minibatch -log P(y | x, w) at one sampled w + (B/N)(E_Q[-log P(w)]
    - H[Q]), the same B/N convention as the overall cost, so ``loss`` summed over an
    epoch's minibatches estimates -ELBO of the whole training set. The entropic
    reliability cost C_VI = -H[Q] (Eq. 41) takes the place of c Σ σ^-ρ, and the
    expected negative log prior that of the magnitude cost (Eq. 38-40). Every term is a
    sum over synapses; each is reported per network in ``parts``.
    """

    def __init__(
        self,
        prior: str,
        prior_scale: float,
        n_train: int,
        batch_size: int,
        loss: Loss = performance_cost,
    ):
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
        if not prior_scale > 0:
            raise ValueError(f"prior_scale must be positive, got {prior_scale!r}")
        self.prior, self.prior_scale = prior, float(prior_scale)
        self.dataset_weight = batch_size / n_train  # B/N
        self.loss = loss

    def regularisers(self, model: StochasticMLP, sigmas) -> dict[str, torch.Tensor]:
        """Per-dataset E_Q[-log P(w)] and entropy H[Q], each (K,)."""
        means = [t for pair in model.means() for t in pair]
        sds = [t for pair in sigmas for t in pair]
        # One fused pass per tensor, with the closed-form gradients (see
        # _VariationalRegularisers); the sums over tensors in the same order as before.
        terms = [
            variational_regularisers(m, s, self.prior, self.prior_scale)
            for m, s in zip(means, sds, strict=True)
        ]
        prior = sum(p for p, _ in terms)
        # H[Q] = Σ ½ ln(2πe σ²) = -C_VI (Eq. 41)
        entropy = -sum(c for _, c in terms)
        return {"neg_log_prior": prior, "entropy": entropy}

    def __call__(self, model: StochasticMLP, x, y, generator=None) -> ObjectiveValue:
        sigmas = model.sigmas()
        logits = model(x, model.sample_weights(generator, sigmas=sigmas))
        nll = self.loss(logits, y)
        reg = self.regularisers(model, sigmas)
        loss = nll + self.dataset_weight * (reg["neg_log_prior"] - reg["entropy"])
        return ObjectiveValue(loss, logits, {"performance": nll, **reg}, correct_count(logits, y))
