"""Per-synapse statistics of a trained network: Hessian, learning rate, input rate (Fig. 5).

After training, the paper passes 10 more epochs over the training set without
updating the parameters and accumulates, for every synapse i (Methods, "To
compute the Hessian ..."):

* the empirical Fisher information <g_i^2>, its estimate of the diagonal of the
  Hessian H_ii of the performance cost (Appendix 3, Eq. 31), with the gradient
  g = ∇_μ log P(y | w, x) (Eq. 32) taken at w = μ;
* the adaptive learning rate η_i = η_base / sqrt(<g_i^2>) (Eq. 7 = Eq. 30), and the
  Methods' variant η_base / <|g_i|>;
* the input rate <|x|> of the synapse's presynaptic unit.

Choices made here, and why:

* **w = μ.** The training objective samples w = μ + σξ; the statistics objective
  (:class:`MeanWeightObjective`) runs the network at its mean weights, as the
  Methods say. It is passed to the training engine with ``update=False``, so the
  statistics pass visits the data in exactly the engine's per-epoch order.
* **Performance cost only.** g is the gradient of the performance cost (summed
  cross-entropy), Eq. 32. The magnitude cost adds (B/N) λ sign(μ_i), constant in
  the data, which would give synapses that never influence the output a tiny
  non-zero "Hessian"; the reliability cost does not depend on μ at all.
* **Both gradient granularities.** Adam (and the paper) see one gradient per
  minibatch; Eq. 31 relates the Hessian to gradients of single datapoints. Each
  statistics step records both: the minibatch gradient from the engine's
  backward pass, and the sums of squared per-datapoint gradients from the same
  backward pass (g_t = δ_t x_tᵀ, with δ_t the gradient of the layer's output).
  Both are scaled to estimate the Hessian of the performance cost summed over
  the training set (N <g_t^2> per datapoint, (N/B) <g_B^2> per minibatch), so they
  agree when the mean gradient vanishes (cross terms, see
  :func:`minibatch_cross_terms`). At w = μ the per-datapoint gradients are the
  same in every epoch; only the minibatch ones change with the batch composition.
* **Weights only.** Thresholds (biases) are stochastic in the model but are not
  synapses of Fig. 5, so only weight statistics are extracted.
* **Exact Hessian check** (beyond the paper): exact diagonal entries H_ii of the
  summed performance cost at w = μ, for every synapse of a layer (a random subset
  where it has more than ``exact_hessian_max_synapses``). For the
  cross-entropy of our ReLU networks :func:`relu_network_hessian_diagonal` computes
  them in closed form (a network is piecewise linear in any one weight, so
  H_ii = Σ_t x_tj² (J_tᵀ H_f,t J_t)_kk exactly, almost everywhere); for any other
  cost, :func:`network_hessian_diagonal` by forward-over-reverse Hessian-vector
  products. Tests check both against torch.autograd's full Hessian.

Layers are numbered from 1 (layer 1: pixels -> hidden 1; layer 2: hidden 1 ->
hidden 2, the layer of Fig. 5; layer 3: hidden 2 -> output), as in Appendix 6.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..artefacts import GRADIENT_MODES, load_params, statistics_key, statistics_layers
from ..training.engine import TrainOptions, train
from ..training.model import StochasticMLP
from ..training.objectives import (  # noqa: F401  (gaussian_performance_cost re-exported)
    Loss,
    ObjectiveValue,
    correct_count,
    gaussian_performance_cost,
    performance_cost,
)
from ..training.params import network_from_params


def load_network(
    path: str | Path, seed: int = 0, device="cpu", dtype=torch.float32
) -> StochasticMLP:
    """Rebuild a one-network StochasticMLP from a params.pt (``artefacts.save_params``).

    μ and σ are restored (σ through φ = softplus⁻¹(σ)); ``seed`` is the network's
    training seed, which fixes the engine's data order in the statistics pass.
    """
    return network_from_params(load_params(path), seed=seed, device=device, dtype=dtype)


class MeanWeightObjective:
    """The performance cost at w = μ (Methods: statistics "at w = μ"), for the engine.

    Same interface as the training objectives; the layer inputs of the last call
    (presynaptic activity) are kept in ``activity`` and the layer outputs before the
    ReLU in ``preactivation`` (their ``.grad`` is filled by the backward pass), for
    the statistics hook.
    """

    def __init__(self, loss: Loss = performance_cost):
        self.loss = loss
        self.activity: list[torch.Tensor] = []
        self.preactivation: list[torch.Tensor] = []

    def __call__(self, model: StochasticMLP, x, y, generator=None) -> ObjectiveValue:
        activity: list[torch.Tensor] = []
        preactivation: list[torch.Tensor] = []
        # weights=None: the means μ
        logits = model(x, record_activity=activity, record_preactivation=preactivation)
        self.activity = [a.detach() for a in activity]
        if torch.is_grad_enabled():
            for z in preactivation:
                z.retain_grad()
        self.preactivation = preactivation
        loss = self.loss(logits, y)
        return ObjectiveValue(
            loss, logits, {"performance": loss.detach()}, correct_count(logits, y)
        )


def per_datapoint_gradients(
    model: StochasticMLP, x: torch.Tensor, y: torch.Tensor, loss: Loss = performance_cost
) -> list[torch.Tensor]:
    """g_t = ∇_μ of the performance cost of each datapoint t alone (Eq. 32), at w = μ.

    One network (K = 1); x (B, n_in), y (B,). Returns per layer a (B, out, in) tensor.
    The statistics pass does not call it (:class:`SynapseStatistics` takes the sums of
    g_t² from its own backward pass); it is the independent reference the tests use.
    """
    if model.n_networks != 1:
        raise ValueError("per-datapoint gradients are computed for one network at a time")
    mus = tuple(w.detach() for w in model.mu_w)
    biases = [b.detach() for b in model.mu_b]

    def datapoint_loss(weights, x_t, y_t):
        outputs = model(x_t.unsqueeze(0), list(zip(weights, biases, strict=True)))
        return loss(outputs, y_t.reshape(1, 1)).sum()

    grads = torch.func.vmap(torch.func.grad(datapoint_loss), in_dims=(None, 0, 0))(mus, x, y)
    return [g[:, 0] for g in grads]


def minibatch_cross_terms(per_datapoint: torch.Tensor) -> torch.Tensor:
    """(Σ_t g_t)² - Σ_t g_t² = Σ_{t≠t'} g_t g_t': what separates the two Fisher estimates.

    per_datapoint: (B, ...). With independent datapoints, E[(Σ_t g_t)²] =
    B E[g²] + B(B - 1) E[g]²: the minibatch estimate exceeds B times the
    per-datapoint one by the squared mean gradient, which vanishes at a minimum.
    """
    return per_datapoint.sum(0).pow(2) - per_datapoint.pow(2).sum(0)


class SynapseStatistics:
    """The ``after_backward`` hook of the statistics pass: accumulates per-synapse sums.

    Sums are float64 on the model's device; :meth:`result` turns them into means.
    At w = μ the per-datapoint gradients and the layer inputs are deterministic:
    they are the same in every epoch, so they are accumulated over the first
    ``single_pass`` datapoints only (one epoch; None: every call). Only the minibatch
    gradients change between epochs, with the composition of the minibatches.
    """

    def __init__(
        self,
        objective: MeanWeightObjective,
        per_datapoint: bool = True,
        single_pass: int | None = None,
    ):
        self.objective = objective
        self.per_datapoint = per_datapoint
        self.single_pass = single_pass
        self.sums: dict[str, list[torch.Tensor]] | None = None
        self.minibatches = 0
        self.datapoints = 0  # datapoints of the deterministic sums (per-datapoint, inputs)

    def _zeros(self, model):
        device = model.mu_w[0].device
        shapes = [tuple(w.shape[1:]) for w in model.mu_w]
        names = ["sq_minibatch", "abs_minibatch", "sq_per_datapoint", "abs_per_datapoint"]
        sums = {
            n: [torch.zeros(s, dtype=torch.float64, device=device) for s in shapes] for n in names
        }
        for name in ("input_abs", "input_sq"):
            sums[name] = [torch.zeros(s[1], dtype=torch.float64, device=device) for s in shapes]
        return sums

    @torch.no_grad()
    def __call__(self, model: StochasticMLP, value, batch_indices: torch.Tensor) -> None:
        if model.n_networks != 1:
            raise ValueError("statistics are extracted for one network at a time")
        if self.sums is None:
            self.sums = self._zeros(model)
        s = self.sums
        idx = batch_indices[0]
        for layer, w in enumerate(model.mu_w):
            g = w.grad[0].double()  # gradient of the minibatch's summed performance cost
            s["sq_minibatch"][layer] += g * g
            s["abs_minibatch"][layer] += g.abs()
        self.minibatches += 1
        if self.single_pass is not None and self.datapoints >= self.single_pass:
            return
        for layer, activity in enumerate(self.objective.activity):
            x = activity[0].double()
            s["input_abs"][layer] += x.abs().sum(0)
            s["input_sq"][layer] += (x * x).sum(0)
        if self.per_datapoint:
            # The minibatch's cost is a sum of per-datapoint costs, so the gradient of
            # the minibatch cost with respect to datapoint t's layer output z_t is
            # δ_t = ∂L_t/∂z_t, and datapoint t's weight gradient is g_t = δ_t x_tᵀ
            # (Eq. 32). Hence Σ_t g_t² = (δ²)ᵀ x² and Σ_t |g_t| = |δ|ᵀ |x|: one matrix
            # product per layer, with no per-datapoint gradient in memory.
            layers = zip(self.objective.activity, self.objective.preactivation, strict=True)
            for layer, (activity, z) in enumerate(layers):
                delta, x = z.grad[0].double(), activity[0].double()
                s["sq_per_datapoint"][layer] += (delta * delta).T @ (x * x)
                s["abs_per_datapoint"][layer] += delta.abs().T @ x.abs()
        self.datapoints += idx.numel()

    def result(self, n_train: int, batch_size: int, eta_base: float) -> dict[str, np.ndarray]:
        """Per layer l = 1, 2, ...: Hessian estimates, learning rates and input rates.

        ``hessian_{mode}_layer{l}``: empirical Fisher scaled to the Hessian of the
        performance cost summed over the N training datapoints (Eq. 26, 31):
        N <g_t²> per datapoint, (N/B) <g_B²> per minibatch.
        ``learning_rate_{mode}_layer{l}``: η_base / sqrt(<g²>) (Eq. 7), infinite
        where the gradient is always zero (dead presynaptic units, constant pixels).
        ``learning_rate_abs_{mode}_layer{l}``: η_base / <|g|> (Methods).
        ``input_rate_layer{l}``: <|x|> per presynaptic unit (in,); ``input_sq_layer{l}``:
        <x²>, the input statistic of the Hessian of a linear model (Eq. 26, Eq. 54b).
        """
        if self.sums is None:
            raise RuntimeError("no statistics were accumulated")
        modes = {"minibatch": self.minibatches}
        if self.per_datapoint:
            modes["per_datapoint"] = self.datapoints
        scale = {"minibatch": n_train / batch_size, "per_datapoint": float(n_train)}
        out = {}
        with np.errstate(divide="ignore"):
            for layer in range(len(self.sums["input_abs"])):
                l = layer + 1  # noqa: E741  (the paper's layer number)
                for mode, count in modes.items():
                    mean_sq = (self.sums[f"sq_{mode}"][layer] / count).cpu().numpy()
                    mean_abs = (self.sums[f"abs_{mode}"][layer] / count).cpu().numpy()
                    out[statistics_key("hessian", l, mode)] = scale[mode] * mean_sq
                    out[statistics_key("learning_rate", l, mode)] = eta_base / np.sqrt(mean_sq)
                    out[statistics_key("learning_rate_abs", l, mode)] = eta_base / mean_abs
                for key, total in (("input_rate", "input_abs"), ("input_sq", "input_sq")):
                    mean = (self.sums[total][layer] / self.datapoints).cpu().numpy()
                    out[statistics_key(key, l)] = mean
        return out


def extract_statistics(
    model: StochasticMLP,
    data,
    epochs: int,
    batch_size: int,
    eta_base: float,
    loss: Loss = performance_cost,
    per_datapoint: bool = True,
    log: Callable[[str], None] = print,
    describe: str = "statistics pass",
) -> dict[str, np.ndarray]:
    """Pass ``epochs`` times over ``data`` with no update and return per-synapse statistics.

    Runs the training engine with ``TrainOptions(update=False)`` and the statistics
    hook; σ² and μ of every weight are included (``sigma_squared_layer{l}``,
    ``mu_layer{l}``). ``eta_base`` is Eq. 7's base learning rate (the Adam rate).
    """
    objective = MeanWeightObjective(loss)
    n_batches = len(data) // batch_size
    hook = SynapseStatistics(objective, per_datapoint, single_pass=n_batches * batch_size)
    options = TrainOptions(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=eta_base,
        update=False,
        cuda_graph=False,
    )
    train(model, objective, data, options, describe=[describe], log=log, after_backward=hook)
    out = hook.result(len(data), batch_size, eta_base)
    out["n_train"] = np.array(len(data))
    with torch.no_grad():
        for layer, ((sw, _), mw) in enumerate(zip(model.sigmas(), model.mu_w, strict=True)):
            out[statistics_key("sigma_squared", layer + 1)] = sw[0].double().pow(2).cpu().numpy()
            out[statistics_key("mu", layer + 1)] = mw[0].detach().cpu().numpy()
    return out


def network_statistics(
    model: StochasticMLP,
    data,
    training: dict,
    curvature: dict,
    seed: int,
    log: Callable[[str], None] = print,
    describe: str = "statistics pass",
) -> dict[str, np.ndarray]:
    """The statistics.npz of one trained network, as config.yaml's sections set it.

    The statistics pass (:func:`extract_statistics`, ``curvature.statistics_epochs`` over
    the training set at the network's ``training`` batch size and Adam rate) and the exact
    H_ii of a random subset of synapses (:func:`exact_hessian_subset`, drawn with ``seed``).
    Neither draws from a global random state, so the numbers of a network do not depend
    on other networks computed in the same process.
    """
    arrays = extract_statistics(
        model,
        data,
        epochs=curvature["statistics_epochs"],
        batch_size=training["batch_size"],
        eta_base=training["learning_rate"],
        per_datapoint=True,
        log=log,
        describe=describe,
    )
    arrays |= exact_hessian_subset(
        model,
        data,
        layers=curvature["exact_hessian_layers"],
        max_synapses=curvature["exact_hessian_max_synapses"],
        max_examples=curvature["exact_hessian_examples"],
        seed=seed,
        log=log,
    )
    return {k: np.asarray(v) for k, v in arrays.items()}


def layer_summary(arrays: Mapping[str, np.ndarray]) -> list[dict]:
    """Per layer of a statistics.npz, for the extraction's summary.json: number of
    synapses, median σ², presynaptic units that never fire at w = μ, and synapses whose
    gradient was always zero (no Fisher information, H_ii = 0)."""
    layers = []
    for layer in statistics_layers(arrays):
        sigma_squared = arrays[statistics_key("sigma_squared", layer)]
        rates = arrays[statistics_key("input_rate", layer)]
        entry = {
            "layer": layer,
            "synapses": int(sigma_squared.size),
            "sigma_squared_median": float(np.median(sigma_squared)),
            "silent_presynaptic_units": int((rates == 0).sum()),
        }
        for mode in GRADIENT_MODES:
            hessian = arrays[statistics_key("hessian", layer, mode)]
            entry[f"zero_gradient_synapses_{mode}"] = int((hessian == 0).sum())
        layers.append(entry)
    return layers


def hessian_diagonal(
    function: Callable[[torch.Tensor], torch.Tensor],
    point: torch.Tensor,
    indices: Sequence[int] | torch.Tensor,
    tangent_batch: int = 64,
) -> torch.Tensor:
    """Exact H_ii = e_iᵀ ∇²f(point) e_i for the flat indices i, by Hessian-vector products.

    Forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), vectorised over
    ``tangent_batch`` one-hot tangents at a time: no approximation, and no n x n
    Hessian in memory.
    """
    indices = torch.as_tensor(indices, dtype=torch.long, device=point.device)
    gradient = torch.func.grad(function)

    def hessian_times(tangent):
        return torch.func.jvp(gradient, (point,), (tangent,))[1]

    out = torch.empty(len(indices), dtype=torch.float64, device=point.device)
    n = point.numel()
    for start in range(0, len(indices), tangent_batch):
        chunk = indices[start : start + tangent_batch]
        tangents = torch.zeros(len(chunk), n, dtype=point.dtype, device=point.device)
        tangents[torch.arange(len(chunk), device=point.device), chunk] = 1.0
        products = torch.func.vmap(hessian_times)(tangents.reshape(len(chunk), *point.shape))
        rows = torch.arange(len(chunk), device=point.device)
        out[start : start + len(chunk)] = products.reshape(len(chunk), n)[rows, chunk].double()
    return out


def network_hessian_diagonal(
    model: StochasticMLP,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    layer: int,
    indices: Sequence[int] | np.ndarray,
    loss: Loss = performance_cost,
    chunk_size: int = 1000,
    tangent_batch: int = 64,
) -> np.ndarray:
    """Exact diagonal Hessian entries of the summed performance cost at w = μ.

    ``layer`` counts from 1; ``indices`` are flat indices into that layer's
    (out, in) weight matrix. The performance cost is a sum over datapoints, so its
    Hessian is the sum of the Hessians of chunks of ``chunk_size`` datapoints.
    For a one-layer network with ``gaussian_performance_cost(ε)`` this is Eq. 26,
    H_ii = Σ_t x_ti² / ε².
    """
    if model.n_networks != 1:
        raise ValueError("the exact Hessian is computed for one network at a time")
    means = [(w.detach(), b.detach()) for w, b in model.means()]
    index = layer - 1
    point = means[index][0]
    total = torch.zeros(len(indices), dtype=torch.float64, device=point.device)
    for start in range(0, len(targets), chunk_size):
        x = inputs[start : start + chunk_size]
        y = targets[start : start + chunk_size]

        def chunk_loss(weight, x=x, y=y):
            weights = list(means)
            weights[index] = (weight, means[index][1])
            return loss(model(x, weights), y.unsqueeze(0)).sum()

        total += hessian_diagonal(chunk_loss, point, indices, tangent_batch)
    return total.cpu().numpy()


def relu_network_hessian_diagonal(
    model: StochasticMLP,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    layer: int,
    chunk_size: int = 1000,
) -> np.ndarray:
    """Exact H_ii of the summed cross-entropy (``performance_cost``) at w = μ for every
    weight of ``layer`` (counted from 1), as an (out, in) float64 array.

    The weight W_kj enters the network only through its layer's output z_k = Σ_j W_kj x_j,
    and after it come only affine maps and ReLUs: the logits f are piecewise linear in
    W_kj, so ∂²f/∂W_kj² = 0 almost everywhere and the Gauss-Newton term is the whole
    diagonal: H_kj = Σ_t x_tj² [J_tᵀ H_f,t J_t]_kk, with J_t = ∂f/∂z_t and
    H_f,t = diag(p_t) - p_t p_tᵀ the Hessian of the cross-entropy in the logits
    (p_t = softmax(f_t)). With H_f = F Fᵀ, F = diag(√p) - p √pᵀ, the diagonal is the
    squared row norm of G = J_tᵀ F, which is back-propagated from the logits
    (G_L = F, masked by the ReLU after each layer that has one, then Wᵀ G) for all
    datapoints at once.
    """
    if model.n_networks != 1:
        raise ValueError("the exact Hessian is computed for one network at a time")
    index = layer - 1
    n_layers = model.n_layers
    weights = [w[0].detach().double() for w in model.mu_w]
    total = torch.zeros(weights[index].shape, dtype=torch.float64, device=weights[0].device)
    with torch.no_grad():
        for start in range(0, len(targets), chunk_size):
            x = inputs[start : start + chunk_size]
            activity: list[torch.Tensor] = []
            preactivation: list[torch.Tensor] = []
            logits = model(x, record_activity=activity, record_preactivation=preactivation)
            p = torch.softmax(logits[0].double(), dim=-1)  # (n, C)
            root = p.sqrt()
            g = torch.diag_embed(root) - p.unsqueeze(2) * root.unsqueeze(1)  # F, (n, C, C)
            for l in range(n_layers - 1, index - 1, -1):  # noqa: E741
                if model.relu_after(l, n_layers):
                    g = g * (preactivation[l][0] > 0).unsqueeze(2)
                if l > index:
                    g = torch.matmul(weights[l].T, g)  # (n, in_l, C): back to layer l's input
            curvature = g.pow(2).sum(2)  # (n, out): [Jᵀ H_f J]_kk per datapoint
            x_sq = activity[index][0].double().pow(2)  # (n, in)
            total += curvature.T @ x_sq
    return total.cpu().numpy()


def exact_hessian_subset(
    model: StochasticMLP,
    data,
    layers: Sequence[int],
    max_synapses: int,
    max_examples: int | None,
    seed: int = 0,
    loss: Loss = performance_cost,
    log: Callable[[str], None] = print,
) -> dict[str, np.ndarray]:
    """Exact H_ii for up to ``max_synapses`` random synapses of each layer in ``layers``.

    The performance cost is summed over the first ``max_examples`` training
    datapoints (all when None). Returns ``exact_hessian_index_layer{l}`` (flat
    indices, sorted) and ``exact_hessian_layer{l}``; ``exact_hessian_examples``.
    """
    device = model.mu_w[0].device
    n = len(data) if max_examples is None else min(int(max_examples), len(data))
    inputs, targets = data.inputs[:n].to(device), data.labels[:n].to(device)
    rng = np.random.default_rng(seed)
    out = {"exact_hessian_examples": np.array(n)}
    for layer in layers:
        size = model.mu_w[layer - 1][0].numel()
        k = min(int(max_synapses), size)
        indices = np.sort(rng.choice(size, size=k, replace=False))
        t0 = time.perf_counter()
        if loss is performance_cost:
            full = relu_network_hessian_diagonal(model, inputs, targets, layer)
            values, method = full.ravel()[indices], "closed form"
        else:
            values = network_hessian_diagonal(model, inputs, targets, layer, indices, loss)
            method = "Hessian-vector products"
        log(
            f"exact Hessian, layer {layer}: {k} of {size} synapses over {n} datapoints "
            f"({method}) in {time.perf_counter() - t0:.2f}s"
        )
        out[statistics_key("exact_hessian_index", layer)] = indices
        out[statistics_key("exact_hessian", layer)] = values
    return out
