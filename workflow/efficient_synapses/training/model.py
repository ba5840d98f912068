"""Networks with stochastic synapses (reparameterisation trick, Methods).

Every forward pass draws each synaptic weight as w_i = μ_i + σ_i ξ_i with
ξ_i ~ N(0, 1) and σ_i = softplus(φ_i). Thresholds (biases) are stochastic in
the same way and carry the same costs, as in the paper's released code.

The module holds K independent networks stacked along a leading dimension,
so that one process can train a group of networks with different c, ρ,
noise setting and seed in one batched matrix product per layer. K = 1 is an
ordinary single network. Parameters of network k never interact with those of
network j: the loss is a sum over networks and Adam is elementwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..artefacts import NOISE_SETTINGS

# "methods": the network and costs as the paper's Methods state them. "released_code":
# as the authors' released sims-fig2and3.py ran them: no ReLU after the first layer, a
# ReLU after every later layer (the logits too), and homogeneous noise sampled with the
# root mean square of every synapse's own σ_i (docs/paper-settings.md).
VARIANTS = ("methods", "released_code")
# The two parts in which the variants differ, each switchable on its own (one factor at a
# time, profiles/factor-*): where the ReLUs sit, and how homogeneous noise is sampled and
# costed. None: as the variant says.
VARIANT_PARTS = ("relu_placement", "homogeneous_form")


class _Softplus(torch.autograd.Function):
    """softplus(φ) = log(1 + e^φ) written as relu(φ) + log1p(e^-|φ|), derivative sigmoid(φ).

    Same values as ``F.softplus`` (without its linear cut-off at φ > 20) to within two
    units in the last place, stable for any φ, and about four times as fast on the
    CPU, where this elementwise op over all synapses is one of the costliest parts
    of a training step.
    """

    @staticmethod
    def forward(ctx, phi):
        ctx.save_for_backward(phi)
        return F.relu(phi) + _log1p(torch.exp(-phi.abs()))

    @staticmethod
    def backward(ctx, grad):
        (phi,) = ctx.saved_tensors
        return grad * torch.sigmoid(phi)


def _log1p(e: torch.Tensor) -> torch.Tensor:
    """log(1 + e) for 0 ≤ e ≤ 1, accurate to a few ulps (Goldberg 1991, Theorem 4).

    With u = fl(1 + e), log(u) · e / (u - 1) cancels the rounding of 1 + e; where
    u = 1, e is below half an ulp of 1 and log(1 + e) = e: there log(u)/(u - 1) is 0/0,
    replaced by its limit 1 (a NaN e stays NaN). torch.log1p is not vectorised on the
    CPU: this is several times as fast over a network's synapses. In place on its own
    intermediates (called inside an autograd Function's forward only).
    """
    u = 1.0 + e
    ratio = torch.log(u).div_(u - 1.0)
    return ratio.nan_to_num_(nan=1.0, posinf=1.0, neginf=1.0).mul_(e)


def softplus(phi: torch.Tensor) -> torch.Tensor:
    """σ = softplus(φ) (Methods).

    On the CPU with the hand-written ``_Softplus`` (torch's log1p is not vectorised
    there); on other devices torch's own kernel, one or two kernels forward and backward
    instead of about eleven (its linear cut-off above φ = 20 changes σ by less than a
    unit in the last place of float32)."""
    if phi.device.type != "cpu":
        return F.softplus(phi)
    return _Softplus.apply(phi)


def inverse_softplus(sigma):
    """φ with softplus(φ) = σ (σ = softplus(φ), Methods), computed stably for small σ.

    A float gives a float; a tensor gives a float64 tensor, elementwise (σ of a saved
    network is restored into φ without the rounding of its own dtype).
    """
    if isinstance(sigma, torch.Tensor):
        s = sigma.double()
        return s + torch.log(-torch.expm1(-s))
    return sigma + math.log(-math.expm1(-sigma))


class SigmaParts(NamedTuple):
    """The σ of one step. ``sampled``: per layer (weight σ, bias σ), the σ the weights
    are sampled with; ``own``: each synapse's own σ_i = softplus(φ_i), the same tensors
    as ``sampled`` where no network is homogeneous (None where no network uses them);
    ``own_rms``: (K,) root mean square of the own σ_i, only in the released code's
    homogeneous form with homogeneous networks (their shared σ), else None; ``shared``:
    (K,) the one σ of each network where every network of the group is homogeneous in
    the Methods' form (``sampled`` then holds expanded views of it), else None."""

    sampled: list[tuple[torch.Tensor, torch.Tensor]]
    own: list[tuple[torch.Tensor, torch.Tensor]] | None
    own_rms: torch.Tensor | None
    shared: torch.Tensor | None = None


class StochasticMLP(nn.Module):
    """K fully connected networks with Gaussian synapses, ReLU hidden units.

    Parameters per layer l: ``mu_w[l]`` (K, out, in), ``phi_w[l]`` (K, out, in),
    ``mu_b[l]`` (K, out), ``phi_b[l]`` (K, out), and ``phi_shared`` (K,) used by
    networks in the homogeneous setting, where one σ is optimised but shared by
    every synapse of the network.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        noise: Sequence[str],
        seeds: Sequence[int],
        mu_init_range: float = 0.1,
        sigma_init: float = 1e-4,
        dtype=torch.float32,
        device="cpu",
        variant: str = "methods",
        relu_placement: str | None = None,
        homogeneous_form: str | None = None,
    ):
        super().__init__()
        for name, value in (
            ("variant", variant),
            ("relu_placement", relu_placement or variant),
            ("homogeneous_form", homogeneous_form or variant),
        ):
            if value not in VARIANTS:
                raise ValueError(f"{name} must be one of {VARIANTS}, got {value!r}")
        self.variant = variant
        # Where the ReLUs sit, and how a homogeneous network samples and pays for its σ:
        # each as the Methods or as the released code has it (the variant's by default).
        self.relu_placement = relu_placement or variant
        self.homogeneous_form = homogeneous_form or variant
        if len(noise) != len(seeds):
            raise ValueError("one noise setting and one seed per network are required")
        for n in noise:
            if n not in NOISE_SETTINGS:
                raise ValueError(f"noise setting must be one of {NOISE_SETTINGS}, got {n!r}")
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.n_networks = len(noise)
        self.noise = tuple(noise)
        self.seeds = tuple(int(s) for s in seeds)
        # A Python flag, not tensor.any(): reading a device tensor every step would
        # synchronise host and GPU (and is forbidden inside a captured CUDA graph).
        self.any_homogeneous = any(n == "homogeneous" for n in noise)
        self.all_homogeneous = all(n == "homogeneous" for n in noise)
        self.register_buffer(
            "homogeneous",
            torch.tensor([n == "homogeneous" for n in noise], device=device),
            persistent=False,
        )
        k = self.n_networks
        phi0 = inverse_softplus(sigma_init)
        self.mu_w, self.phi_w = nn.ParameterList(), nn.ParameterList()
        self.mu_b, self.phi_b = nn.ParameterList(), nn.ParameterList()
        shapes = list(zip(self.layer_sizes[1:], self.layer_sizes[:-1], strict=True))
        # Every network's μ (and φ) lie in one row of a (K, n_synapses) tensor, layer by
        # layer, weights then thresholds: the layout of its noise vector ξ. The parameters
        # are views of these rows, so the fused training step (``fused``) can run over a
        # whole network as one row, and each layer stays an ordinary parameter.
        n = self.n_synapses
        self.flat_mu = torch.empty(k, n, dtype=dtype, device=device)
        self.flat_phi = torch.full((k, n), phi0, dtype=dtype, device=device)
        # μ ~ U(-a, a) from each network's own seed, so that network k of a group
        # starts exactly where it would start if trained alone.
        inits = [self._uniform_init(seed, shapes, mu_init_range, dtype) for seed in self.seeds]
        offset = 0
        for layer, (n_out, n_in) in enumerate(shapes):
            views = []
            for flat in (self.flat_mu, self.flat_phi):
                w = flat[:, offset : offset + n_out * n_in].view(k, n_out, n_in)
                b = flat[:, offset + n_out * n_in : offset + n_out * n_in + n_out]
                views.append((w, b))
            offset += n_out * n_in + n_out
            (mu_w, mu_b), (phi_w, phi_b) = views
            mu_w.copy_(torch.stack([init[layer][0] for init in inits]))
            mu_b.copy_(torch.stack([init[layer][1] for init in inits]))
            self.mu_w.append(nn.Parameter(mu_w))
            self.mu_b.append(nn.Parameter(mu_b))
            self.phi_w.append(nn.Parameter(phi_w))
            self.phi_b.append(nn.Parameter(phi_b))
        self.phi_shared = nn.Parameter(torch.full((k,), phi0, dtype=dtype, device=device))

    def flat_rows_intact(self) -> bool:
        """Whether every parameter is still a view of ``flat_mu`` / ``flat_phi`` (moving
        the model with ``.to()`` would replace them by copies)."""
        n = self.n_synapses
        for flat, tensors in ((self.flat_mu, self.mu_w), (self.flat_phi, self.phi_w)):
            first = tensors[0]
            if first.data_ptr() != flat.data_ptr() or flat.shape[1] != n:
                return False
        return True

    @staticmethod
    def _uniform_init(seed, shapes, a, dtype):
        gen = torch.Generator().manual_seed(int(seed))
        out = []
        for n_out, n_in in shapes:
            w = (torch.rand(n_out, n_in, generator=gen, dtype=torch.float64) * 2 - 1) * a
            b = (torch.rand(n_out, generator=gen, dtype=torch.float64) * 2 - 1) * a
            out.append((w.to(dtype), b.to(dtype)))
        return out

    @property
    def n_layers(self) -> int:
        return len(self.mu_w)

    def sigma_parts(self) -> SigmaParts:
        """Every σ of one step, each computed once (see :class:`SigmaParts`).

        Heterogeneous networks sample with each synapse's own σ_i = softplus(φ_i).
        Homogeneous networks sample with one σ per network: in the Methods' form
        softplus(φ_shared), in the released code's (``homogeneous_form``) the root mean
        square of the network's own σ_i (``own_sigma_rms``), which its cost needs too.

        A group of homogeneous networks in the Methods' form uses no own σ_i at all: the
        σ of a network is one number, broadcast (a view, no copy) to its synapses, and no
        softplus runs over the unused φ_i (nor does Adam, as they get no gradient).
        """
        if self.all_homogeneous and self.homogeneous_form == "methods":
            shared = softplus(self.phi_shared)
            k = self.n_networks
            sampled = [
                (shared.view(k, 1, 1).expand_as(w), shared.view(k, 1).expand_as(b))
                for w, b in self.means()
            ]
            return SigmaParts(sampled=sampled, own=None, own_rms=None, shared=shared)
        own = self.own_sigmas()
        if not self.any_homogeneous:
            return SigmaParts(sampled=own, own=own, own_rms=None)
        own_rms = None
        if self.homogeneous_form == "released_code":
            own_rms = shared = self.own_sigma_rms(own)
        else:
            shared = softplus(self.phi_shared)
        mask = self.homogeneous
        sampled = []
        for sw, sb in own:
            sw = torch.where(mask[:, None, None], shared[:, None, None].expand_as(sw), sw)
            sb = torch.where(mask[:, None], shared[:, None].expand_as(sb), sb)
            sampled.append((sw, sb))
        return SigmaParts(sampled=sampled, own=own, own_rms=own_rms)

    def sigmas(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """σ with which the weights are sampled, per layer as (weight σ, bias σ)."""
        return self.sigma_parts().sampled

    def own_sigmas(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each synapse's own σ_i = softplus(φ_i) per layer, whatever the noise setting."""
        return [
            (softplus(phi_w), softplus(phi_b))
            for phi_w, phi_b in zip(self.phi_w, self.phi_b, strict=True)
        ]

    def own_sigma_rms(self, own=None) -> torch.Tensor:
        """√(Σ_i σ_i² / N) over the N weights and thresholds of each network, (K,).

        The one σ with which the released code samples a homogeneous network (its
        ``uniform=True``), differentiable with respect to every φ_i.
        """
        own = self.own_sigmas() if own is None else own
        # σ·σ rather than σ.pow(2): the backward of a product is two multiplications,
        # that of pow several elementwise passes.
        total = sum((sw * sw).flatten(1).sum(1) + (sb * sb).sum(1) for sw, sb in own)
        return (total / self.n_synapses).sqrt()

    def means(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(w, b) for w, b in zip(self.mu_w, self.mu_b, strict=True)]

    def sample_weights(
        self, generator: NetworkNoise | torch.Generator | None = None, sigmas=None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One draw w = μ + σ ξ of every synapse of every network (reparameterised).

        ``generator`` is one of
        - a ``NetworkNoise`` (``network_noise_generators``): network k draws all its ξ,
          layer by layer (weights, then thresholds), as one vector of ``n_synapses``
          values from the stream of its own seed, so its noise is the same whether it is
          trained alone or in any group, in any position. Networks that share a seed
          share that stream: it is drawn once and handed to each of them;
        - one generator (or None: torch's default) shared by the whole group: one draw
          per layer for all K networks, so a network's noise depends on its group.
        ``sigmas`` (as ``sigmas()`` returns them) are the σ to sample with.
        """
        sigmas = self.sigmas() if sigmas is None else sigmas
        if isinstance(generator, NetworkNoise):
            noise = self._per_network_noise(generator)
        else:
            noise = []
            for mw, mb in self.means():
                xw = torch.randn(mw.shape, generator=generator, dtype=mw.dtype, device=mw.device)
                xb = torch.randn(mb.shape, generator=generator, dtype=mb.dtype, device=mb.device)
                noise.append((xw, xb))
        return [
            (mw + sw * xw, mb + sb * xb)
            for (mw, mb), (sw, sb), (xw, xb) in zip(self.means(), sigmas, noise, strict=True)
        ]

    @property
    def n_synapses(self) -> int:
        """Weights and thresholds of one network: the length of its noise vector ξ."""
        return sum(n_out * n_in + n_out for n_out, n_in in self._layer_shapes())

    def _layer_shapes(self) -> list[tuple[int, int]]:
        return list(zip(self.layer_sizes[1:], self.layer_sizes[:-1], strict=True))

    def _per_network_noise(self, streams: NetworkNoise):
        """ξ ~ N(0, 1) per layer, row k of every tensor from the stream of network k's seed.

        One draw per distinct seed (not per network): a group of the workflow holds at
        most as many distinct seeds as the sweep has, so the kernel count of a step does
        not grow with the group. Each draw is the vector a network alone would draw from
        the same generator, so every row is bitwise what it would be alone.
        """
        k = self.n_networks
        if streams.n_networks != k:
            raise ValueError(f"noise streams for {streams.n_networks} networks, model has {k}")
        mw0 = self.mu_w[0]
        n_streams = len(streams.generators)
        flat = torch.empty(n_streams, self.n_synapses, dtype=mw0.dtype, device=mw0.device)
        for row, gen in zip(flat, streams.generators, strict=True):
            row.normal_(generator=gen)
        if n_streams == 1:
            flat = flat.expand(k, -1)  # a view: every network reads the one draw
        else:  # one gather, whatever K (no shortcut: the step's kernels do not depend on K)
            flat = flat.index_select(0, streams.rows_on(flat.device))
        noise, offset = [], 0
        for n_out, n_in in self._layer_shapes():
            xw = flat[:, offset : offset + n_out * n_in].unflatten(1, (n_out, n_in))
            offset += n_out * n_in
            xb = flat[:, offset : offset + n_out]
            offset += n_out
            noise.append((xw, xb))
        return noise

    def forward(
        self, x: torch.Tensor, weights=None, record_activity=None, record_preactivation=None
    ) -> torch.Tensor:
        """Logits (K, B, n_out) for inputs x of shape (K, B, n_in) or (B, n_in).

        ``weights`` defaults to the means μ (a deterministic pass); pass
        ``sample_weights()`` for a stochastic pass. ``record_activity``, if a list,
        receives the input to every layer (presynaptic rates, for statistics);
        ``record_preactivation``, if a list, every layer's output before its ReLU
        (whose gradient, per datapoint, gives the per-datapoint weight gradients).
        """
        weights = self.means() if weights is None else weights
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_networks, -1, -1)
        h = x
        for layer, (w, b) in enumerate(weights):
            if record_activity is not None:
                record_activity.append(h)
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if record_preactivation is not None:
                record_preactivation.append(h)
            if self.relu_after(layer, len(weights)):
                h = F.relu(h)
        return h

    def relu_after(self, layer: int, n_layers: int) -> bool:
        """Methods: ReLU after every hidden layer. Released code: after every layer but
        the first, the output layer included (its logits then pass through a ReLU
        before the softmax). ``relu_placement`` says which."""
        if self.relu_placement == "released_code":
            return layer > 0
        return layer < n_layers - 1

    def weight_sigma_rms(self) -> torch.Tensor:
        """Root-mean-square σ over all weights (biases excluded), per network (K,)."""
        with torch.no_grad():
            total = sum(sw.pow(2).flatten(1).sum(1) for sw, _ in self.sigmas())
            count = sum(w[0].numel() for w in self.mu_w)
        return (total / count).sqrt()


def noise_stream_seed(network_seed: int, stream: int = 0) -> int:
    """Seed of a network's own noise stream: SplitMix64 of (network seed, stream number).

    Mixing (rather than using the network seed as it is) keeps the noise stream
    apart from the other generators seeded from the same number (initialisation,
    data order), and streams 0, 1, ... (training, test sampling) apart from each other.
    """
    mask = (1 << 64) - 1
    z = (int(network_seed) * 0x9E3779B97F4A7C15 + int(stream) * 0xD1B54A32D192ED03 + 0x5EED) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return (z ^ (z >> 31)) & ((1 << 63) - 1)  # manual_seed takes a non-negative int64


class NetworkNoise:
    """The weight-noise streams of a group of networks: one generator per distinct seed.

    ``generators[j]`` is seeded with ``noise_stream_seed(seeds[j], stream)`` for the j-th
    distinct network seed (in order of first appearance); ``rows[k]`` is the generator
    network k draws from. A network's stream depends on its seed alone, so networks of
    one seed would draw identical vectors from identical generators: one generator and
    one draw serve them all.
    """

    def __init__(self, network_seeds: Sequence[int], device, stream: int = 0):
        network_seeds = [int(s) for s in network_seeds]
        self.seeds = list(dict.fromkeys(network_seeds))
        position = {seed: j for j, seed in enumerate(self.seeds)}
        self.rows = [position[s] for s in network_seeds]
        self.n_networks = len(network_seeds)
        self.generators = [
            torch.Generator(device=device).manual_seed(noise_stream_seed(seed, stream))
            for seed in self.seeds
        ]
        self._rows_tensor: dict[torch.device, torch.Tensor] = {}

    def rows_on(self, device) -> torch.Tensor:
        """``rows`` as an index tensor on ``device`` (made once, outside any graph capture)."""
        device = torch.device(device)
        if device not in self._rows_tensor:
            self._rows_tensor[device] = torch.tensor(self.rows, dtype=torch.long, device=device)
        return self._rows_tensor[device]

    def get_state(self) -> list[torch.Tensor]:
        return [g.get_state() for g in self.generators]

    def set_state(self, states: list[torch.Tensor]) -> None:
        if len(states) != len(self.generators):
            raise RuntimeError(
                f"{len(states)} saved noise-generator states for {len(self.generators)} "
                f"streams (distinct seeds {self.seeds})"
            )
        for g, state in zip(self.generators, states, strict=True):
            g.set_state(state)


def network_noise_generators(seeds: Sequence[int], device, stream: int = 0) -> NetworkNoise:
    """The noise streams of networks with these seeds, each from its own seed alone."""
    return NetworkNoise(seeds, device, stream)
