"""Training speed, side by side on one device: the paper's pattern against our engine.

The baseline re-implements the training pattern of the paper's released code:
a torchvision DataLoader over transformed MNIST images, float64 parameters,
``torch.distributions.Normal(mu, softplus(phi)).rsample()`` per layer and
eager PyTorch. Our rows use the workflow's own engine (``engine.train``) on the
same model size and batch size, for one network and for groups of K networks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import Dataset, load_mnist
from .engine import TrainOptions, train
from .model import StochasticMLP
from .objectives import EnergyEfficientObjective

STEPS_PER_EPOCH = 3000  # 60,000 images in minibatches of 20
EPOCHS = 50


@dataclass
class BenchmarkRow:
    name: str
    networks: int
    ms_per_step: float

    def as_dict(self, baseline_ms: float) -> dict:
        per_network = self.ms_per_step / self.networks
        return {
            "path": self.name,
            "networks": self.networks,
            "ms_per_step": round(self.ms_per_step, 3),
            "ms_per_network_step": round(per_network, 3),
            "s_per_epoch": round(self.ms_per_step * STEPS_PER_EPOCH / 1000, 2),
            "minutes_for_50_epochs": round(self.ms_per_step * STEPS_PER_EPOCH * EPOCHS / 60000, 2),
            "speedup_per_network_vs_paper": round(baseline_ms / per_network, 2),
        }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def paper_pattern_ms_per_step(mnist_root, device, steps: int, warmup: int = 5) -> float:
    """ms per step of the released code's training pattern (DataLoader, float64, distributions)."""
    import torchvision
    from torchvision import transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    dataset = torchvision.datasets.MNIST(mnist_root, train=True, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=20, shuffle=True, num_workers=0)
    dt = torch.float64
    sizes = [(100, 784), (100, 100), (10, 100)]
    phi0 = float(torch.log(torch.expm1(torch.tensor(1e-4, dtype=dt))))
    params = []
    for n_out, n_in in sizes:
        params += [
            torch.empty(n_out, n_in, dtype=dt, device=device).uniform_(-0.1, 0.1),
            torch.full((n_out, n_in), phi0, dtype=dt, device=device),
            torch.empty(n_out, dtype=dt, device=device).uniform_(-0.1, 0.1),
            torch.full((n_out,), phi0, dtype=dt, device=device),
        ]
    for p in params:
        p.requires_grad_(True)
    optimiser = torch.optim.Adam(params, lr=5e-4)
    scale = 20 / 60000

    def step(x, y):
        x = x.to(device).double().view(-1, 784)
        y = y.to(device)
        reg = rel = 0.0
        h = x
        for layer in range(3):
            mu_w, phi_w, mu_b, phi_b = params[4 * layer : 4 * layer + 4]
            sig_w, sig_b = F.softplus(phi_w), F.softplus(phi_b)
            reg = reg + scale * 1e-4 * (mu_w.abs().sum() + mu_b.abs().sum())
            rel = rel + scale * ((1 / 0.5) * (0.01 / sig_w) ** 0.5).sum()
            rel = rel + scale * ((1 / 0.5) * (0.01 / sig_b) ** 0.5).sum()
            w = torch.distributions.Normal(mu_w, sig_w).rsample()
            b = torch.distributions.Normal(mu_b, sig_b).rsample()
            h = F.linear(h, w, b)
            if layer < 2:
                h = F.relu(h)
        loss = F.nll_loss(F.log_softmax(h, 1), y) * 20 + rel + reg
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        loss.item()  # the released code reads the loss every step

    batches = iter(loader)
    for _ in range(warmup):
        step(*next(batches))
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(*next(batches))
    _sync(device)
    return (time.perf_counter() - start) / steps * 1000


def engine_ms_per_step(train_data: Dataset, device, networks: int, steps: int) -> float:
    """ms per step of our engine for a group of ``networks`` networks (K = 1: one network)."""
    n = steps * 20
    data = Dataset(train_data.inputs[:n], train_data.labels[:n]).to(device)
    rhos = [0.5, 2 / 3, 4 / 3, 2.0]
    model = StochasticMLP(
        [784, 100, 100, 10],
        noise=["heterogeneous" if k % 2 == 0 else "homogeneous" for k in range(networks)],
        seeds=list(range(networks)),
        device=device,
    )
    objective = EnergyEfficientObjective(
        c=[10.0 ** (-3 + 0.25 * (k % 30)) for k in range(networks)],
        rho=[rhos[k % 4] for k in range(networks)],
        magnitude_lambda=1e-4,
        n_train=60000,
        batch_size=20,
        device=device,
    )
    warm = Dataset(data.inputs[:100], data.labels[:100])
    train(model, objective, warm, TrainOptions(1, 20, 5e-4), log=lambda _m: None)
    _sync(device)
    start = time.perf_counter()
    train(model, objective, data, TrainOptions(1, 20, 5e-4), log=lambda _m: None)
    _sync(device)
    return (time.perf_counter() - start) / steps * 1000


def run_benchmark(mnist_raw_dir, device, steps: dict[str, int], groups=(30, 240)) -> list[dict]:
    """Rows of the benchmark table, all timed in this one process on ``device``."""
    from pathlib import Path

    device = torch.device(device)
    mnist_root = Path(mnist_raw_dir).parents[1]  # torchvision's root holds MNIST/raw
    train_data = load_mnist(mnist_raw_dir, train=True)
    rows = [
        BenchmarkRow(
            "paper pattern (DataLoader, float64, distributions, eager)",
            1,
            paper_pattern_ms_per_step(mnist_root, device, steps["paper"]),
        ),
        BenchmarkRow(
            "ours, eager, K=1",
            1,
            engine_ms_per_step(train_data, device, 1, steps["single"]),
        ),
    ]
    for k in groups:
        rows.append(
            BenchmarkRow(
                f"ours, vectorised group, K={k}",
                k,
                engine_ms_per_step(train_data, device, k, steps["group"]),
            )
        )
    baseline = rows[0].ms_per_step
    return [r.as_dict(baseline) for r in rows]


def device_name(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
