"""The one training engine: every network of the workflow is trained here.

Data live on the device as one tensor; each network draws its minibatches from
its own per-epoch permutation seeded by (seed, epoch), so a network sees the
same batches whether it is trained alone or in a group. Metrics are
accumulated on the device and read once per epoch (no host synchronisation per
step). The engine checkpoints after every epoch and resumes from the
checkpoint, so a killed job continues where it stopped with identical results.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .data import Dataset
from .model import StochasticMLP


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@dataclass
class TrainOptions:
    epochs: int
    batch_size: int
    learning_rate: float
    noise_seed: int = 0
    # Adam learning rate of the noise parameters φ (σ = softplus(φ)); None: learning_rate.
    # Adam moves φ ≈ log σ by at most about this much per step, so it sets how many
    # steps σ needs to reach its equilibrium from its initial value.
    sigma_learning_rate: float | None = None
    # On CUDA, capture the whole step (sampling, forward, backward, Adam) once as a
    # CUDA graph and replay it; ignored on the CPU and in statistics passes.
    cuda_graph: bool = True
    update: bool = True  # False: forward/backward only (statistics passes)
    log_every: int = 1  # progress line every this many epochs (and after the last)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8


@dataclass
class TrainHistory:
    epoch: list[int] = field(default_factory=list)
    loss: list[list[float]] = field(default_factory=list)  # per epoch, per network
    train_accuracy: list[list[float]] = field(default_factory=list)
    parts: list[dict[str, list[float]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    # What ``after_epoch`` returned after each epoch: {name: value per network}.
    epoch_metrics: list[dict[str, list[float]]] = field(default_factory=list)


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The order in which a network with this seed visits the data in this epoch."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


def _format_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class _Stepper:
    """One training step over a batch of indices, eager or replayed from a CUDA graph.

    Metrics accumulate in device tensors that the host reads once per epoch. In
    graph mode the batch indices go through a static buffer, noise comes from the
    default CUDA generator (the one a graph may draw from), Adam runs with
    ``capturable=True``, and the first ``WARMUP`` steps run eagerly on a side
    stream before the capture, as CUDA graphs require. Should capture fail, the
    stepper says so in the log and carries on eagerly: results stay correct.
    """

    WARMUP = 3

    def __init__(self, model, objective, optimiser, inputs, labels, options, noise_gen, graph, log):
        self.model, self.objective, self.optimiser = model, objective, optimiser
        self.inputs, self.labels, self.update = inputs, labels, options.update
        self.noise_gen, self.log = noise_gen, log
        self.use_graph = graph
        self.graph = None
        self.steps_done = 0
        device, k = inputs.device, model.n_networks
        self.batch_idx = torch.zeros(k, options.batch_size, dtype=torch.long, device=device)
        self.loss_sum = torch.zeros(k, dtype=torch.float64, device=device)
        self.correct = torch.zeros(k, dtype=torch.long, device=device)
        self.part_sums: dict[str, torch.Tensor] = {}
        self.has_accuracy = True

    def reset(self) -> None:
        self.loss_sum.zero_()
        self.correct.zero_()
        for v in self.part_sums.values():
            v.zero_()

    def _body(self, after_backward=None):
        idx = self.batch_idx
        value = self.objective(self.model, self.inputs[idx], self.labels[idx], self.noise_gen)
        value.loss.sum().backward()
        if after_backward is not None:
            after_backward(self.model, value, idx)
        if self.update:
            self.optimiser.step()
        with torch.no_grad():
            self.loss_sum += value.loss.detach()
            self.has_accuracy = value.correct is not None
            if value.correct is not None:
                self.correct += value.correct
            for name, part in value.parts.items():
                if name not in self.part_sums:
                    self.part_sums[name] = torch.zeros_like(self.loss_sum)
                self.part_sums[name] += part.detach().double()

    def step(self, idx: torch.Tensor, after_backward=None) -> None:
        self.batch_idx.copy_(idx)
        if self.graph is not None:
            self.graph.replay()
        elif self.use_graph and self.steps_done >= self.WARMUP:
            self._capture_and_run()
        elif self.use_graph:  # warm-up: real steps, on a side stream
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.optimiser.zero_grad(set_to_none=True)
                self._body()
            torch.cuda.current_stream().wait_stream(side)
        else:
            self.optimiser.zero_grad(set_to_none=True)
            self._body(after_backward)
        self.steps_done += 1

    def _capture_and_run(self) -> None:
        graph = torch.cuda.CUDAGraph()
        self.optimiser.zero_grad(set_to_none=True)  # backward in the graph allocates them
        try:
            with torch.cuda.graph(graph):
                self._body()
        except Exception as err:  # noqa: BLE001  (any capture failure: fall back)
            self.log(f"CUDA graph capture failed ({err!r}); continuing with eager steps")
            self.use_graph = False
            self.optimiser.zero_grad(set_to_none=True)
            self._body()
            return
        self.graph = graph
        self.graph.replay()  # capture records the step without running it
        self.log("training step captured as a CUDA graph")


def train(
    model: StochasticMLP,
    objective: Callable,
    data: Dataset,
    options: TrainOptions,
    describe: list[str] | None = None,
    checkpoint_path: str | Path | None = None,
    log: Callable[[str], None] = print,
    after_backward: Callable[[StochasticMLP, object, torch.Tensor], None] | None = None,
    after_epoch: Callable[[int, StochasticMLP], dict[str, list[float]]] | None = None,
) -> TrainHistory:
    """Train (or, with ``update=False``, only pass over the data with) ``model``.

    ``describe`` names each network (its hyper-parameters) in logs and errors.
    ``after_backward(model, objective_value, batch_indices)`` runs after every
    backward pass, before the optimiser step: statistics passes hook in here.
    ``after_epoch(epoch, model)`` runs after every epoch (numbered from 1) and returns
    named per-network values (e.g. RMS σ, a test accuracy) kept in
    ``history.epoch_metrics``; it must not draw from the training noise stream.
    """
    device = model.mu_w[0].device
    k = model.n_networks
    describe = describe or [f"network {i}" for i in range(k)]
    n = len(data)
    n_batches = n // options.batch_size
    if n_batches == 0:
        raise ValueError(f"training set of {n} examples is smaller than one batch")
    use_graph = (
        options.cuda_graph and device.type == "cuda" and options.update and after_backward is None
    )
    noise_params = [*model.phi_w, *model.phi_b, model.phi_shared]
    noise_ids = {id(p) for p in noise_params}
    mean_params = [p for p in model.parameters() if id(p) not in noise_ids]
    optimiser = torch.optim.Adam(
        [
            {"params": mean_params},
            {"params": noise_params, "lr": options.sigma_learning_rate or options.learning_rate},
        ],
        lr=options.learning_rate,
        betas=options.adam_betas,
        eps=options.adam_eps,
        capturable=use_graph,
    )
    if use_graph:  # a captured graph may draw only from the default CUDA generator
        noise_gen = None
        torch.cuda.manual_seed(int(options.noise_seed))
    else:
        noise_gen = torch.Generator(device=device).manual_seed(int(options.noise_seed))
    history = TrainHistory()
    start_epoch = 0
    checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
    if checkpoint_path is not None and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        if state["describe"] != describe or state["options"] != asdict(options):
            raise RuntimeError(
                f"checkpoint {checkpoint_path} belongs to another configuration; delete it to "
                "start again"
            )
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        if use_graph:
            torch.cuda.set_rng_state(state["noise_generator"], device)
        else:
            noise_gen.set_state(state["noise_generator"])
        history = TrainHistory(**state["history"])
        start_epoch = state["epoch"] + 1
        log(f"resuming from {checkpoint_path} after epoch {start_epoch}")

    inputs, labels = data.inputs.to(device), data.labels.to(device)
    stepper = _Stepper(
        model, objective, optimiser, inputs, labels, options, noise_gen, use_graph, log
    )
    started = time.perf_counter()
    for epoch in range(start_epoch, options.epochs):
        t0 = time.perf_counter()
        order = torch.stack([epoch_permutation(s, epoch, n) for s in model.seeds]).to(device)
        stepper.reset()
        for step in range(n_batches):
            idx = order[:, step * options.batch_size : (step + 1) * options.batch_size]
            stepper.step(idx, after_backward)
        # The one host read of the epoch.
        mean_loss = (stepper.loss_sum / n_batches).tolist()
        if not stepper.has_accuracy:  # an objective without classes (regression)
            accuracy = [float("nan")] * k
        else:
            accuracy = (stepper.correct.double() / (n_batches * options.batch_size)).tolist()
        part_sums = stepper.part_sums
        parts = {name: (v / n_batches).tolist() for name, v in part_sums.items()}
        bad = [describe[i] for i, v in enumerate(mean_loss) if not math.isfinite(v)]
        if bad:
            raise NonFiniteLossError(
                f"non-finite loss in epoch {epoch + 1} for: {'; '.join(bad)}. "
                "Lower the learning rate or check c, rho and the data."
            )
        seconds = time.perf_counter() - t0
        history.epoch.append(epoch + 1)
        history.loss.append(mean_loss)
        history.train_accuracy.append(accuracy)
        history.parts.append(parts)
        history.seconds.append(seconds)
        history.epoch_metrics.append(after_epoch(epoch + 1, model) if after_epoch else {})
        done = epoch + 1 - start_epoch
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (options.epochs - epoch - 1)
        if (epoch + 1) % options.log_every == 0 or epoch + 1 == options.epochs:
            for i in range(k):
                log(
                    f"epoch {epoch + 1}/{options.epochs} | {describe[i]} | "
                    f"loss {mean_loss[i]:.4f} | train acc {accuracy[i]:.4f} | "
                    f"epoch {seconds:.1f}s | elapsed {_format_eta(elapsed)} | "
                    f"ETA {_format_eta(eta)}"
                )
        if checkpoint_path is not None:
            _atomic_save(
                {
                    "epoch": epoch,
                    "describe": describe,
                    "options": asdict(options),
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "noise_generator": (
                        torch.cuda.get_rng_state(device) if use_graph else noise_gen.get_state()
                    ),
                    "history": asdict(history),
                },
                checkpoint_path,
            )
    return history


@torch.no_grad()
def evaluate(
    model: StochasticMLP,
    data: Dataset,
    sample: bool,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> dict[str, list[float]]:
    """Accuracy and mean cross-entropy per network on ``data``.

    With ``sample=True`` every batch uses a fresh draw of all weights (as in
    training); with ``sample=False`` the weights are the means μ.
    """
    device = model.mu_w[0].device
    k = model.n_networks
    correct = torch.zeros(k, dtype=torch.long, device=device)
    ce = torch.zeros(k, dtype=torch.float64, device=device)
    inputs, labels = data.inputs.to(device), data.labels.to(device)
    sigmas = model.sigmas() if sample else None
    for start in range(0, len(data), batch_size):
        x = inputs[start : start + batch_size]
        y = labels[start : start + batch_size]
        weights = model.sample_weights(generator, sigmas=sigmas) if sample else None
        logits = model(x, weights)
        correct += (logits.argmax(-1) == y).sum(1)
        ce += torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), y.unsqueeze(0).expand(k, -1), reduction="none"
        ).sum(1)
    return {
        "accuracy": (correct.double() / len(data)).tolist(),
        "cross_entropy": (ce / len(data)).tolist(),
    }


def history_to_json(history: TrainHistory, index: int) -> dict:
    """The history of network ``index`` of a group, as plain JSON values."""
    return {
        "epoch": history.epoch,
        "loss": [v[index] for v in history.loss],
        "train_accuracy": [v[index] for v in history.train_accuracy],
        "parts": [{k: v[index] for k, v in p.items()} for p in history.parts],
        "seconds": history.seconds,
        "epoch_metrics": [{k: v[index] for k, v in m.items()} for m in history.epoch_metrics],
    }


def dump_json(obj, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))
    os.replace(tmp, path)
