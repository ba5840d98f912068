"""The training step by formula: gradients of the per-synapse chain written out, one pass.

Autograd runs only through the layers' products (forward pass and performance cost) and
gives dL/dw for the sampled weights w = μ + σξ. Everything per synapse, the sampling, the
magnitude and reliability costs (or the variational regularisers), their gradients and
Adam, is written out here:

    σ = softplus(φ),  dσ/dφ = sigmoid(φ)                                  (Methods)
    dL/dμ = dL/dw + (B/N) λ sign(μ)                                      (Eq. 2-3)
    dL/dσ = dL/dw · ξ − (B/N) c ρ σ^(−ρ−1)                               (Eq. 4)
    dL/dφ = dL/dσ · sigmoid(φ)

for heterogeneous noise; a homogeneous network in the Methods' form samples every synapse
with one σ = softplus(φ_shared) and pays N c σ^−ρ, so dL/dσ = Σ_i dL/dw_i ξ_i − (B/N) c N ρ
σ^(−ρ−1); in the released code's form it samples with σ_rms = √(Σ σ_i²/N) of its own σ_i
and pays c Σ σ_i^−ρ + N c σ_rms^−ρ, so dL/dσ_i = (Σ_j dL/dw_j ξ_j − (B/N) c N ρ
σ_rms^(−ρ−1)) σ_i/(N σ_rms) − (B/N) c ρ σ_i^(−ρ−1). The variational objective (Eq. 33-41)
takes E_Q[−log P(w_i)] and −½ ln(2πe σ_i²) per synapse instead, with the derivatives of
``objectives._VariationalRegularisers``.

On the CPU each pass is one numba kernel over every parameter tensor of the group
(``NumbaKernels``, compiled on first use and cached on disk): the sampling pass writes w
and the per-network cost sums; the check pass finds the networks whose gradient is not
finite (and, for homogeneous networks, Σ dL/dw ξ); the update pass computes dL/dμ and
dL/dφ and applies Adam to μ and φ in place, leaving a frozen network exactly where it
was. exp and log are polynomials that LLVM vectorises (the wheels' math library is
scalar). Without numba, and on CUDA (inside the captured graph), the same formulas run as
plain PyTorch operations (``TorchKernels``). Adam is the arithmetic of
``torch.optim.Adam`` (bias-corrected moments, ε outside the square root), so a step equals
the autograd step to float32 rounding, as tests check.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from .model import StochasticMLP
from .objectives import correct_count
from .regulariser import (  # noqa: E402  (re-exported: the kinds belong to the step)
    HETEROGENEOUS,
    SHARED,
    SHARED_RMS,
    VARIATIONAL_LAPLACE,
    Regulariser,
)


@dataclass
class AdamSettings:
    lr_mean: float
    lr_noise: float
    betas: tuple[float, float]
    eps: float


class FusedAdamState:
    """Adam's moments of the flat μ and φ rows, of φ_shared, and the step count: what the
    engine checkpoints in place of a ``torch.optim.Adam``'s state."""

    KEYS = ("m_mu", "v_mu", "m_phi", "v_phi", "m_shared", "v_shared")

    def __init__(self, model: StochasticMLP, settings: AdamSettings):
        self.settings = settings
        flat = model.flat_mu
        self.m_mu, self.v_mu = torch.zeros_like(flat), torch.zeros_like(flat)
        self.m_phi, self.v_phi = torch.zeros_like(flat), torch.zeros_like(flat)
        self.m_shared = torch.zeros_like(model.phi_shared)
        self.v_shared = torch.zeros_like(model.phi_shared)
        self.step = 0

    def state_dict(self) -> dict:
        return {"step": self.step} | {
            key: getattr(self, key).detach().cpu().clone() for key in self.KEYS
        }

    def load_state_dict(self, state: dict) -> None:
        missing = [key for key in ("step", *self.KEYS) if key not in state]
        if missing:
            raise RuntimeError(f"not a fused training step's optimiser state (no {missing})")
        self.step = int(state["step"])
        for key in self.KEYS:
            getattr(self, key).copy_(state[key])

    def scalars(self) -> dict[str, float]:
        """Adam's step sizes and √(bias correction 2) at ``self.step`` (already advanced)."""
        b1, b2 = self.settings.betas
        bc1 = 1.0 - b1**self.step
        return {
            "step_mean": self.settings.lr_mean / bc1,
            "step_noise": self.settings.lr_noise / bc1,
            "bc2_sqrt": math.sqrt(1.0 - b2**self.step),
        }


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_LOG_2_PI_E = math.log(2.0 * math.pi * math.e)


# --- the passes in plain PyTorch (CUDA, and a CPU without numba) ---------------------------


class TorchKernels:
    """The passes as PyTorch operations over the flat (K, n_synapses) rows, each one
    operation for the whole group, and only those the group's kinds of network need;
    graph-safe (no host reads: frozen networks are masked, never branched on). Adam is
    ``torch.optim.Adam`` itself (fused, capturable on CUDA) over the flat rows, its state
    the ``FusedAdamState``'s tensors."""

    name = "torch"

    def __init__(self, model: StochasticMLP, reg: Regulariser, state: FusedAdamState):
        device, dtype = model.flat_mu.device, model.flat_mu.dtype
        self.model, self.reg, self.state = model, reg, state

        def column(values, kind=dtype):
            as_float64 = torch.tensor(list(values), dtype=torch.float64, device=device)
            return as_float64.to(kind).view(-1, 1)

        self.rho = column(-r for r in reg.rho)  # the exponent of σ^-ρ
        self.rc = column(reg.dataset_weight * r * c for r, c in zip(reg.rho, reg.c, strict=True))
        self.het = column((k == HETEROGENEOUS for k in reg.kind), torch.bool)
        self.rms = column((k == SHARED_RMS for k in reg.kind), torch.bool)
        self.own_weight = column(float(k != SHARED) for k in reg.kind)  # 1: their own σ_i
        self.all_het = all(k == HETEROGENEOUS for k in reg.kind)
        self.any_own = any(k != SHARED for k in reg.kind)
        self.any_rms = any(k == SHARED_RMS for k in reg.kind)
        self.zero = torch.zeros((), dtype=dtype, device=device)
        on_cuda = device.type == "cuda"
        settings = state.settings
        self.optimiser = torch.optim.Adam(
            [
                {"params": [model.flat_mu], "lr": settings.lr_mean},
                {"params": [model.flat_phi, model.phi_shared], "lr": settings.lr_noise},
            ],
            betas=settings.betas,
            eps=settings.eps,
            fused=device.type in ("cpu", "cuda"),
            capturable=on_cuda,
        )
        step_device = device if on_cuda else torch.device("cpu")
        self.steps = {}
        for param, (m, v) in (
            (model.flat_mu, (state.m_mu, state.v_mu)),
            (model.flat_phi, (state.m_phi, state.v_phi)),
            (model.phi_shared, (state.m_shared, state.v_shared)),
        ):
            step = torch.zeros((), dtype=torch.float32, device=step_device)
            self.optimiser.state[param] = {"step": step, "exp_avg": m, "exp_avg_sq": v}
            self.steps[param] = step
        self.stored: dict[str, torch.Tensor] = {}

    def sync_step(self) -> None:
        """The optimiser's step counts from ``state.step`` (after a resume)."""
        for step in self.steps.values():
            step.fill_(float(self.state.step))

    def sample(self, noise: torch.Tensor, shared_sigma: torch.Tensor | None):
        """(w, Σ per network of the regulariser's two per-synapse terms, Σ σ_i² of the own
        σ or None); stores what ``update`` needs (see ``fused_numba``'s ``sample``).
        ``shared_sigma``: (K, 1) σ of the homogeneous networks, None if there are none."""
        model, reg = self.model, self.reg
        mu, phi = model.flat_mu, model.flat_phi
        if reg.variational:
            sigma = torch.nn.functional.softplus(phi)
            z = mu / sigma
            erf, gauss = torch.erf(z / math.sqrt(2.0)), torch.exp(-0.5 * z * z)
            b = reg.prior_scale
            if reg.kind[0] == VARIATIONAL_LAPLACE:
                prior = math.log(2.0 * b) + (sigma * _SQRT_2_OVER_PI * gauss + mu * erf) / b
            else:
                prior = 0.5 * math.log(2.0 * math.pi * b * b) + (mu * mu + sigma * sigma) / (
                    2.0 * b * b
                )
            entropic = -0.5 * (torch.log(sigma * sigma) + _LOG_2_PI_E)
            self.stored = {"a": torch.sigmoid(phi), "b": sigma, "c": erf, "d": gauss}
            w = torch.addcmul(mu, sigma, noise)
            prior, entropic = (
                prior.sum(1, dtype=torch.float64),
                entropic.sum(1, dtype=torch.float64),
            )
            return w, prior, entropic, None
        sum_abs = mu.abs().sum(1, dtype=torch.float64)
        if not self.any_own:
            return torch.addcmul(mu, shared_sigma.expand_as(mu), noise), sum_abs, None, None
        sigma = torch.nn.functional.softplus(phi)
        sig = torch.sigmoid(phi)
        power = sigma.pow(self.rho)
        if self.all_het:
            sum_power = power.sum(1, dtype=torch.float64)
        else:
            sum_power = (power * self.own_weight).sum(1, dtype=torch.float64)
        self.stored = {
            "a": torch.where(self.rms, sigma * sig, sig) if self.any_rms else sig,
            "b": (self.rc * power).div_(sigma).mul_(sig),
        }
        sum_sq = (sigma * sigma).sum(1, dtype=torch.float64) if self.any_rms else None
        if self.all_het or shared_sigma is None:  # (SHARED_RMS rows: replaced by the caller)
            sampled = sigma
        else:
            sampled = torch.where(self.het, sigma, shared_sigma)
        return torch.addcmul(mu, sampled, noise), sum_abs, sum_power, sum_sq

    def check(self, grad: torch.Tensor, noise: torch.Tensor, need_gx: bool):
        finite = torch.isfinite(grad).all(1)
        gx = (grad * noise).sum(1, dtype=torch.float64) if need_gx else None
        return finite, gx

    def update(self, grad, noise, dead, coef, shared_grad) -> None:
        """Gradients by formula into the flat rows' ``.grad``, then Adam; the gradients and
        first moments of the networks ``dead`` marks zeroed (their parameters stay)."""
        model, reg, stored, state = self.model, self.reg, self.stored, self.state
        column = dead.view(-1, 1)
        a = reg.dataset_weight
        mu = model.flat_mu
        if reg.variational:
            b = reg.prior_scale
            if reg.kind[0] == VARIATIONAL_LAPLACE:
                d_mu, d_sigma = stored["c"] / b, _SQRT_2_OVER_PI * stored["d"] / b
            else:
                d_mu, d_sigma = mu / (b * b), stored["b"] / (b * b)
            g_mu = grad + a * d_mu
            g_phi = (grad * noise + a * (d_sigma - 1.0 / stored["b"])) * stored["a"]
        else:
            g_mu = torch.sign(mu).mul_(a * reg.magnitude_lambda).add_(grad)
            g_phi = None
            if self.any_own:
                through = grad * noise
                if self.any_rms:
                    through = torch.where(self.rms, coef.view(-1, 1), through)
                g_phi = through.mul_(stored["a"]).sub_(stored["b"])
                if not self.all_het:  # SHARED networks' own φ_i: no gradient
                    g_phi.mul_(self.own_weight)
        model.flat_mu.grad = g_mu.masked_fill_(column, 0.0)
        state.m_mu.masked_fill_(column, 0.0)
        if g_phi is not None:
            model.flat_phi.grad = g_phi.masked_fill_(column, 0.0)
            state.m_phi.masked_fill_(column, 0.0)
        if shared_grad is not None:
            model.phi_shared.grad = shared_grad.masked_fill_(dead, 0.0)
            state.m_shared.masked_fill_(dead, 0.0)
        self.optimiser.step()
        for param in (model.flat_mu, model.flat_phi, model.phi_shared):
            param.grad = None


# --- the passes as numba kernels -----------------------------------------------------------


def set_threads(threads: int) -> None:
    """The threads of numba's kernels, as for PyTorch's (a job's ``threads``)."""
    if numba_available():
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def numba_available() -> bool:
    """numba importable, and not switched off (``EFFICIENT_SYNAPSES_NO_NUMBA=1``)."""
    if os.environ.get("EFFICIENT_SYNAPSES_NO_NUMBA"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def model_means(model: StochasticMLP) -> list[torch.Tensor]:
    """μ per tensor in the order of the flat rows: per layer the weights, then thresholds."""
    return [p for pair in model.means() for p in pair]


# --- the step -------------------------------------------------------------------------------


class FusedStep:
    """One training step by formula (see the module docstring), in place of autograd
    through the whole objective.

    ``__call__(x, y, noise, rows)`` samples, runs the forward and backward pass through
    the layers and checks the gradients: (loss (K,), parts {name: (K,)}, correct (K,) or
    None, finite (K,) bool). ``apply(alive)`` then updates the networks ``alive`` marks
    (the engine decides which are, from ``finite`` and its own record); the others keep
    their parameters, their first moments zeroed as the engine freezes them.
    """

    def __init__(self, model: StochasticMLP, objective, reg: Regulariser, settings: AdamSettings,
                 backend: str = "auto"):  # fmt: skip
        if not model.flat_rows_intact():
            raise ValueError("the model's parameters are no longer views of its flat rows")
        device = model.flat_mu.device
        if backend == "auto":
            backend = "numba" if device.type == "cpu" and numba_available() else "torch"
        if backend == "numba" and device.type != "cpu":
            raise ValueError("the numba kernels run on the CPU only")
        self.model, self.objective, self.reg, self.device = model, objective, reg, device
        self.backend = backend
        self.state = FusedAdamState(model, settings)
        if backend == "numba":
            from .fused_numba import NumbaPasses

            self.kernels = NumbaPasses(model, reg, self.state)
        else:
            self.kernels = TorchKernels(model, reg, self.state)
        self.n_synapses = model.n_synapses
        self.kind = torch.tensor(reg.kind, device=device)
        self.shared_mask = self.kind == SHARED
        self.rms_mask = self.kind == SHARED_RMS
        self.any_shared = any(k == SHARED for k in reg.kind)
        self.any_rms = any(k == SHARED_RMS for k in reg.kind)
        self.rho = torch.as_tensor(reg.rho, dtype=torch.float64, device=device)
        self.c = torch.as_tensor(reg.c, dtype=torch.float64, device=device)
        # The sampled weights w, flat like μ; each layer's view is a leaf of the step's
        # small graph, its gradient a (K, n_out, n_in) tensor (numba reads them as they
        # are; the PyTorch kernels join them into one flat row per network).
        k = model.n_networks
        self.w = torch.empty_like(model.flat_mu)
        views, offset = [], 0
        for mu in model_means(model):
            n = mu[0].numel()
            views.append(self.w[:, offset : offset + n].view(mu.shape))
            offset += n
        self.leaves = [v.requires_grad_(True) for v in views]
        self._k = k
        self._pending = None

    def optimiser_state(self) -> dict:
        """Adam's state for a checkpoint (the step count from the device where a CUDA
        graph advances it)."""
        state = self.state.state_dict()
        if isinstance(self.kernels, TorchKernels):
            state["step"] = int(self.kernels.steps[self.model.flat_mu].item())
        return state

    def load_optimiser_state(self, state: dict) -> None:
        self.state.load_state_dict(state)
        if isinstance(self.kernels, TorchKernels):
            self.kernels.sync_step()

    def _shared_sigma(self) -> torch.Tensor:
        """(K,) float64: σ = softplus(φ_shared) of each homogeneous network in the Methods'
        form, 0 for the others (σ_rms comes from the sampling pass)."""
        sigma = torch.zeros(self.model.n_networks, dtype=torch.float64, device=self.device)
        if self.any_shared:
            shared = torch.nn.functional.softplus(self.model.phi_shared.detach()).double()
            sigma = torch.where(self.shared_mask, shared, sigma)
        return sigma

    def _weights(self):
        """The layers' (w, b) for the forward pass."""
        views = self.leaves
        return [(views[i], views[i + 1]) for i in range(0, len(views), 2)]

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (K, B, n_out) of the sampled weights, the model's forward pass computed
        with units in columns, h_l = f(W_l h_(l-1) + b_l): autograd then gives dL/dW_l =
        δ_l h_(l-1)ᵀ in W's own (contiguous) layout, which the kernels read as it is."""
        model = self.model
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(model.n_networks, -1, -1)
        h = x.transpose(1, 2)
        layers = self._weights()
        for layer, (w, b) in enumerate(layers):
            h = torch.baddbmm(b.unsqueeze(2), w, h)
            if model.relu_after(layer, len(layers)):
                h = torch.relu(h)
        return h.transpose(1, 2)

    def __call__(self, x, y, noise: torch.Tensor, rows: torch.Tensor):
        """Sample, forward, backward, check. ``noise``: (distinct seeds, n_synapses) draws;
        ``rows``: (K,) the draw of each network."""
        if self.backend == "numba":
            return self._call_numba(x, y, noise, rows)
        return self._call_torch(x, y, noise, rows)

    def _forward_backward(self, x, y):
        logits = self._forward(x)
        performance = self.objective.loss(logits, y)
        grads = torch.autograd.grad(performance.sum(), self.leaves)
        return logits, performance.detach(), grads

    def _finish(self, logits, y, performance, parts, finite):
        reg = self.reg
        second = -parts[reg.parts[1]] if reg.variational else parts[reg.parts[1]]
        regulariser = (parts[reg.parts[0]] + second).to(performance.dtype)
        loss = performance + reg.dataset_weight * regulariser
        out_parts = {"performance": performance} | {
            name: parts[name].to(performance.dtype) for name in reg.parts
        }
        return loss, out_parts, correct_count(logits, y), finite

    def _call_numba(self, x, y, noise, rows):
        need_gx = self.any_shared or self.any_rms
        with torch.no_grad():
            sum_a, sum_b, shared_sigma = self.kernels.sample(
                noise, rows, self._shared_sigma(), self.w
            )
        logits, performance, grads = self._forward_backward(x, y)
        with torch.no_grad():
            finite, gx = self.kernels.check(grads, noise, rows, need_gx)
            self._pending = (grads, noise, rows, gx, shared_sigma)
            parts = self._parts(sum_a, sum_b, shared_sigma)
        return self._finish(logits, y, performance, parts, finite)

    def _call_torch(self, x, y, noise, rows):
        kernels = self.kernels
        need_gx = self.any_shared or self.any_rms
        with torch.no_grad():
            full = noise.expand(self._k, -1) if noise.shape[0] == 1 else noise[rows]
            shared_sigma = self._shared_sigma() if self.any_shared else None
            column = None if shared_sigma is None else shared_sigma.to(self.w.dtype).view(-1, 1)
            w, sum_a, sum_b, sum_sq = kernels.sample(full, column)
            if self.any_rms:
                rms = (sum_sq / self.n_synapses).sqrt()
                base = shared_sigma if shared_sigma is not None else torch.zeros_like(rms)
                shared_sigma = torch.where(self.rms_mask, rms, base)
                mask = self.rms_mask.view(-1, 1)
                sampled = torch.addcmul(
                    self.model.flat_mu, shared_sigma.to(w.dtype).view(-1, 1), full
                )
                w = torch.where(mask, sampled, w)
            self.w.copy_(w)
        logits, performance, grads = self._forward_backward(x, y)
        with torch.no_grad():
            grad = torch.cat([g.flatten(1) for g in grads], 1)
            finite, gx = kernels.check(grad, full, need_gx)
            self._pending = (grad, full, None, gx, shared_sigma)
            if sum_b is None:
                sum_b = torch.zeros_like(sum_a)
            parts = self._parts(sum_a, sum_b, shared_sigma)
        return self._finish(logits, y, performance, parts, finite)

    def _parts(self, sum_a, sum_b, shared_sigma):
        """The two regulariser parts per network, as the objective reports them."""
        reg = self.reg
        if reg.variational:
            # sum_a: Σ E_Q[−log P(w_i)]; sum_b: Σ C_VI;i = −H[Q]
            return {"neg_log_prior": sum_a, "entropy": -sum_b}
        magnitude = reg.magnitude_lambda * sum_a
        reliability = self.c * sum_b
        if self.any_shared or self.any_rms:
            homogeneous = self.shared_mask | self.rms_mask
            s = torch.where(homogeneous, shared_sigma, 1.0)
            shared_cost = self.c * self.n_synapses * s.pow(-self.rho)
            reliability = reliability + torch.where(homogeneous, shared_cost, 0.0)
        return {"magnitude": magnitude, "reliability": reliability}

    @torch.no_grad()
    def apply(self, alive: torch.Tensor) -> None:
        """Adam on μ, φ and φ_shared of the networks ``alive`` marks (see the class)."""
        grads, noise, rows, gx, shared_sigma = self._pending
        self._pending = None
        reg, state = self.reg, self.state
        state.step += 1
        a, n = reg.dataset_weight, self.n_synapses
        coef = shared_grad = None
        if self.any_shared or self.any_rms:
            # d/dσ of the whole network's terms through its one σ (SHARED: σ itself;
            # SHARED_RMS: σ_rms): Σ dL/dw ξ - (B/N) c N ρ σ^(-ρ-1)
            homogeneous = self.shared_mask | self.rms_mask
            s = torch.where(homogeneous, shared_sigma, 1.0)
            d_shared = gx - a * self.c * n * self.rho * s.pow(-self.rho - 1.0)
            if self.any_rms:
                coef = torch.where(self.rms_mask, d_shared / (n * s), 0.0)
            if self.any_shared:
                phi_shared = self.model.phi_shared.detach().double()
                shared_grad = torch.where(
                    self.shared_mask, d_shared * torch.sigmoid(phi_shared), 0.0
                )
        if self.backend == "numba":
            self.kernels.update(grads, noise, rows, alive, coef)
            if shared_grad is not None:
                self._adam_shared(shared_grad, alive & self.shared_mask)
        else:
            dtype = self.w.dtype
            self.kernels.update(
                grads,
                noise,
                ~alive,
                None if coef is None else coef.to(dtype),
                None if shared_grad is None else shared_grad.to(dtype),
            )

    def _adam_shared(self, grad: torch.Tensor, live: torch.Tensor) -> None:
        """Adam on φ_shared (numba path): the networks not ``live`` keep theirs, with their
        first moment zeroed; those without a shared σ never move (zero moments)."""
        state = self.state
        phi = self.model.phi_shared.data
        settings, scalars = state.settings, state.scalars()
        b1, b2 = settings.betas
        g = torch.where(live, grad.to(phi.dtype), 0.0)
        state.m_shared.masked_fill_(~live, 0.0)
        state.m_shared.lerp_(g, 1.0 - b1)
        state.v_shared.mul_(b2).addcmul_(g, g, value=1.0 - b2)
        denom = (state.v_shared.sqrt() / scalars["bc2_sqrt"]).add_(settings.eps)
        phi.addcdiv_(state.m_shared, denom, value=-scalars["step_noise"])
