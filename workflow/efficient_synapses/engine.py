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
    update: bool = True  # False: forward/backward only (statistics passes)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8


@dataclass
class TrainHistory:
    epoch: list[int] = field(default_factory=list)
    loss: list[list[float]] = field(default_factory=list)  # per epoch, per network
    train_accuracy: list[list[float]] = field(default_factory=list)
    parts: list[dict[str, list[float]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


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


def train(
    model: StochasticMLP,
    objective: Callable,
    data: Dataset,
    options: TrainOptions,
    describe: list[str] | None = None,
    checkpoint_path: str | Path | None = None,
    log: Callable[[str], None] = print,
    after_backward: Callable[[StochasticMLP, object, torch.Tensor], None] | None = None,
) -> TrainHistory:
    """Train (or, with ``update=False``, only pass over the data with) ``model``.

    ``describe`` names each network (its hyper-parameters) in logs and errors.
    ``after_backward(model, objective_value, batch_indices)`` runs after every
    backward pass, before the optimiser step: statistics passes hook in here.
    """
    device = model.mu_w[0].device
    k = model.n_networks
    describe = describe or [f"network {i}" for i in range(k)]
    n = len(data)
    n_batches = n // options.batch_size
    if n_batches == 0:
        raise ValueError(f"training set of {n} examples is smaller than one batch")
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
    )
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
        noise_gen.set_state(state["noise_generator"])
        history = TrainHistory(**state["history"])
        start_epoch = state["epoch"] + 1
        log(f"resuming from {checkpoint_path} after epoch {start_epoch}")

    inputs, labels = data.inputs.to(device), data.labels.to(device)
    started = time.perf_counter()
    for epoch in range(start_epoch, options.epochs):
        t0 = time.perf_counter()
        order = torch.stack([epoch_permutation(s, epoch, n) for s in model.seeds]).to(device)
        loss_sum = torch.zeros(k, dtype=torch.float64, device=device)
        correct = torch.zeros(k, dtype=torch.long, device=device)
        part_sums: dict[str, torch.Tensor] = {}
        for step in range(n_batches):
            idx = order[:, step * options.batch_size : (step + 1) * options.batch_size]
            x, y = inputs[idx], labels[idx]
            value = objective(model, x, y, noise_gen)
            optimiser.zero_grad(set_to_none=True)
            value.loss.sum().backward()
            if after_backward is not None:
                after_backward(model, value, idx)
            if options.update:
                optimiser.step()
            with torch.no_grad():
                loss_sum += value.loss.detach()
                if value.correct is not None:
                    correct += value.correct
                for name, part in value.parts.items():
                    part_sums[name] = part_sums.get(name, 0) + part.detach().double()
        mean_loss = (loss_sum / n_batches).tolist()
        if value.correct is None:  # an objective without classes (regression)
            accuracy = [float("nan")] * k
        else:
            accuracy = (correct.double() / (n_batches * options.batch_size)).tolist()
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
        done = epoch + 1 - start_epoch
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (options.epochs - epoch - 1)
        for i in range(k):
            log(
                f"epoch {epoch + 1}/{options.epochs} | {describe[i]} | loss {mean_loss[i]:.4f} | "
                f"train acc {accuracy[i]:.4f} | epoch {seconds:.1f}s | elapsed "
                f"{_format_eta(elapsed)} | ETA {_format_eta(eta)}"
            )
        if checkpoint_path is not None:
            _atomic_save(
                {
                    "epoch": epoch,
                    "describe": describe,
                    "options": asdict(options),
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "noise_generator": noise_gen.get_state(),
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
    }


def dump_json(obj, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))
    os.replace(tmp, path)
