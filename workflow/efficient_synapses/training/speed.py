"""Training speed, side by side on one device: the paper's pattern against our engine.

The baseline re-implements the training pattern of the paper's released code:
a torchvision DataLoader over transformed MNIST images, float64 parameters,
``torch.distributions.Normal(mu, softplus(phi)).rsample()`` per layer, the loss
read on the host every step, and eager PyTorch. Our rows use the workflow's own
engine (``engine.train``) on the same model size and batch size, for one network
and for groups of K networks, eagerly and (on CUDA) replayed from a CUDA graph.

Every engine row is timed on steady-state steps only: it trains two epochs of
``steps`` steps and times the steps of the second (``TrainHistory.step_seconds``),
so warm-up and graph capture (in the first) are outside the timed region. The path
a row actually ran (``TrainHistory.step_path``) is recorded beside the one its label
promises, never assumed.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..artefacts import NetworkSpec
from ..data.raw import MNIST_RAW_MD5, Dataset, fetch_mnist, load_mnist, read_idx
from .engine import TrainOptions, train
from .model import StochasticMLP
from .objectives import EnergyEfficientObjective

STEPS_PER_EPOCH = 3000  # 60,000 images in minibatches of 20
EPOCHS = 50
PAPER_ROW = "paper pattern (DataLoader, float64, distributions, eager)"


@dataclass
class BenchmarkRow:
    name: str
    networks: int
    ms_per_step: float
    expected_path: str  # what the label promises: "cuda_graph" or "eager"
    path: str  # what ran
    reason: str = ""  # why eager, when it was
    noise_streams: str = ""
    distinct_seeds: int = 1  # noise streams drawn per step (one per distinct seed)
    steps_timed: int = 0  # the steps the time is divided by (0: not recorded)

    def as_dict(self, baseline_ms: float) -> dict:
        per_network = self.ms_per_step / self.networks
        return {
            "path": self.name,
            "networks": self.networks,
            "distinct_seeds": self.distinct_seeds,
            "steps_timed": self.steps_timed,
            "noise_streams": self.noise_streams,
            "ms_per_step": round(self.ms_per_step, 4),
            "ms_per_network_step": round(per_network, 4),
            "s_per_epoch": round(self.ms_per_step * STEPS_PER_EPOCH / 1000, 2),
            "minutes_for_50_epochs": round(self.ms_per_step * STEPS_PER_EPOCH * EPOCHS / 60000, 2),
            "speedup_per_network_vs_paper": round(baseline_ms / per_network, 2),
            "path_ran": self.path,
            "path_as_labelled": self.path == self.expected_path,
            "eager_reason": self.reason,
        }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def prepare_mnist(source: str | Path, work_dir: str | Path) -> Path:
    """A directory of the four decompressed, md5-verified MNIST idx files.

    ``source`` holds them already (returned as it is) or holds the four ``.gz`` files of
    the mirror layout (``../shared/data/mnist``), decompressed and verified by
    ``data.fetch_mnist`` into ``work_dir/mnist/MNIST/raw``.
    """
    source = Path(source)
    names = list(MNIST_RAW_MD5)
    if all((source / name).is_file() for name in names):
        return source
    missing = [f"{name}.gz" for name in names if not (source / f"{name}.gz").is_file()]
    if missing:
        raise FileNotFoundError(
            f"{source}: expected the four MNIST idx files or their .gz files; missing "
            f"{', '.join(missing)}"
        )
    return fetch_mnist(source, Path(work_dir) / "mnist")


class _PerItemMNIST(torch.utils.data.Dataset):
    """torchvision's MNIST with ToTensor and Normalize, item by item, for machines
    without torchvision: the same per-item work in tensors instead of PIL images."""

    def __init__(self, raw_dir: Path):
        self.images = read_idx(raw_dir / "train-images-idx3-ubyte")
        self.labels = read_idx(raw_dir / "train-labels-idx1-ubyte").long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = self.images[i].view(1, 28, 28).float().div(255)
        return (x - 0.1307) / 0.3081, int(self.labels[i])


def _paper_dataset(raw_dir: Path, tmp: Path):
    """torchvision's MNIST over ``raw_dir`` (linked into its layout), else ``_PerItemMNIST``."""
    try:
        import torchvision
        from torchvision import transforms
    except (ImportError, RuntimeError, OSError) as err:
        # ImportError: not installed; RuntimeError or OSError: a torchvision built for
        # another torch ("operator torchvision::nms does not exist", a missing library).
        why = "no torchvision" if isinstance(err, ImportError) else "torchvision unusable"
        return _PerItemMNIST(raw_dir), f" [{why}: per-item tensor transform]"
    layout = tmp / "MNIST" / "raw"
    layout.mkdir(parents=True, exist_ok=True)
    for name in MNIST_RAW_MD5:
        (layout / name).symlink_to(Path(raw_dir).resolve() / name)
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    return torchvision.datasets.MNIST(tmp, train=True, transform=transform), ""


def paper_pattern_ms_per_step(raw_dir, device, steps: int, warmup: int = 5) -> tuple[float, str]:
    """ms per step of the released code's training pattern (DataLoader, float64, distributions)."""
    with tempfile.TemporaryDirectory() as tmp:
        dataset, note = _paper_dataset(Path(raw_dir), Path(tmp))
        loader = torch.utils.data.DataLoader(dataset, batch_size=20, shuffle=True, num_workers=0)
        ms = _time_paper_pattern(loader, device, steps, warmup)
    return ms, note


def _time_paper_pattern(loader, device, steps: int, warmup: int) -> float:
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


# The Figure 2/3 sweep of config.yaml (a test keeps the two equal): written out here so
# that the benchmark needs no YAML reader on a bare GPU machine.
PAPER_SWEEP = {
    "rho": ["1/2", "2/3", "4/3", "2"],
    "log10_c": {"start": -4.0, "stop": 3.25, "step": 0.25},
    "noise": ["heterogeneous", "homogeneous"],
    "seeds": [0, 1, 2],
}


def sweep_group_specs(networks: int, sweep: dict | None = None) -> list[NetworkSpec]:
    """The first training group of ``networks`` networks of the paper's Figure 2/3 sweep,
    composed as the workflow composes it (``config.training_groups``: neighbouring networks
    of one noise setting and ρ across c and the sweep's seeds), so that it holds as many
    distinct seeds as the workflow's groups do. Networks beyond the sweep's count repeat."""
    from ..config import training_groups

    config = {
        "sweep": dict(PAPER_SWEEP if sweep is None else sweep),
        "training": {"group_size": networks},
        "targets": ["fig2"],  # the sweep alone
    }
    members = training_groups(config)[0]
    members = [members[i % len(members)] for i in range(networks)]
    return [NetworkSpec.from_wildcards(m) for m in members]


def sweep_like_group(networks: int, device, dtype=torch.float32):
    """K networks of the paper architecture as the workflow groups them (``sweep_group_specs``):
    the model, its objective and the number of distinct seeds in the group."""
    specs = sweep_group_specs(networks)
    model = StochasticMLP(
        [784, 100, 100, 10],
        noise=[s.noise for s in specs],
        seeds=[s.seed for s in specs],
        dtype=dtype,
        device=device,
    )
    objective = EnergyEfficientObjective(
        c=[s.c for s in specs],
        rho=[s.rho_value for s in specs],
        magnitude_lambda=1e-4,
        n_train=60000,
        batch_size=20,
        device=device,
        dtype=dtype,
    )
    return model, objective, len({s.seed for s in specs})


def engine_ms_per_step(
    train_data: Dataset,
    device,
    networks: int,
    steps: int,
    cuda_graph: bool = True,
    noise_streams: str = "per_network",
) -> tuple[float, str, str, int, int]:
    """Steady-state ms per step of our engine for a group of ``networks`` networks.

    Two epochs of ``steps`` steps (or as many as the training set holds: 3,000 for
    60,000 images): the first holds the warm-up and the capture, the second is timed and
    divided by the steps it ran. Returns (ms per step, path that ran, why eager, distinct
    seeds, steps timed).
    """
    n = min(steps * 20, len(train_data))
    data = Dataset(train_data.inputs[:n], train_data.labels[:n]).to(device)
    model, objective, n_seeds = sweep_like_group(networks, device)
    # As training jobs run: a diverging network is isolated (the per-step checks included).
    options = TrainOptions(
        2,
        20,
        1e-4,
        cuda_graph=cuda_graph,
        noise_streams=noise_streams,
        on_non_finite="isolate",
    )
    history = train(model, objective, data, options, log=lambda _m: None)
    steps_run = n // 20
    ms = history.step_seconds[-1] / steps_run * 1000
    return ms, history.step_path, history.step_path_reason, n_seeds, steps_run


PLAIN_ROW = "plain PyTorch (no engine: randn per layer, F.softplus, fused Adam), K={k}"


def plain_ms_per_step(train_data: Dataset, device, networks: int, steps: int) -> float:
    """ms per step of the same K networks written as plain eager PyTorch, without the
    engine: one ``randn`` per layer for the whole group, ``F.softplus``, σ^-ρ by ``pow``,
    fused Adam, no bookkeeping (no divergence checks, no metrics). What a user would
    write by hand; our engine's step should be no slower."""
    model, objective, _ = sweep_like_group(networks, device)
    # Contiguous tensors of its own per layer, as a user would write them (the model's
    # parameters are views of its flat rows, which fused Adam cannot take).
    layers = model.n_layers

    def own(tensors):
        return [t.detach().clone().requires_grad_(True) for t in tensors]

    mu_w, mu_b, phi_w, phi_b = own(model.mu_w), own(model.mu_b), own(model.phi_w), own(model.phi_b)
    params = [*mu_w, *mu_b, *phi_w, *phi_b]
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    optimiser = torch.optim.Adam(params, lr=1e-4, **fused)
    rho = objective.rho
    c = objective.c
    scale = objective.dataset_weight
    inputs = train_data.inputs[: steps * 20].to(device)
    labels = train_data.labels[: steps * 20].to(device)
    k = networks

    def step(i):
        idx = torch.arange(i * 20, (i + 1) * 20, device=device) % len(labels)
        x = inputs[idx].expand(k, -1, -1)
        y = labels[idx].expand(k, -1)
        h = x
        reliability = 0.0
        magnitude = 0.0
        for layer in range(layers):
            sw, sb = F.softplus(phi_w[layer]), F.softplus(phi_b[layer])
            w = mu_w[layer] + sw * torch.randn_like(sw)
            b = mu_b[layer] + sb * torch.randn_like(sb)
            reliability = reliability + sw.pow(-rho[:, None, None]).sum((1, 2))
            reliability = reliability + sb.pow(-rho[:, None]).sum(1)
            magnitude = magnitude + mu_w[layer].abs().sum((1, 2))
            magnitude = magnitude + mu_b[layer].abs().sum(1)
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if layer < layers - 1:
                h = F.relu(h)
        performance = F.cross_entropy(h.reshape(k * 20, -1), y.reshape(-1), reduction="sum")
        loss = performance + scale * (1e-4 * magnitude + c * reliability).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    for i in range(5):
        step(i)
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    _sync(device)
    return (time.perf_counter() - start) / steps * 1000


def _plan(device, steps, groups, shared_rows, plain_rows) -> list[tuple]:
    """(label, K, steps, capture, noise streams, expected path) of every row after the
    paper's pattern; capture None marks a plain-PyTorch row."""
    on_cuda = device.type == "cuda"
    mode = "CUDA graph" if on_cuda else "eager"
    expected = "cuda_graph" if on_cuda else "eager"
    plan = [("ours, eager, K=1", 1, steps["single"], False, "per_network", "eager")]
    if on_cuda:
        plan.append((f"ours, {mode}, K=1", 1, steps["single"], True, "per_network", expected))
    if shared_rows:
        label = f"ours, {mode}, K=1, one shared noise stream"
        plan.append((label, 1, steps["single"], True, "shared", expected))
    for k in groups:
        plan.append((f"ours, {mode}, K={k}", k, steps["group"], True, "per_network", expected))
        if plain_rows:
            plan.append((PLAIN_ROW.format(k=k), k, steps["group"], None, "shared", "eager"))
    if shared_rows and groups:
        k = max(groups)
        label = f"ours, {mode}, K={k}, one shared noise stream"
        plan.append((label, k, steps["group"], True, "shared", expected))
    return plan


def run_benchmark(
    raw_dir,
    device,
    steps: dict[str, int],
    groups=(60, 240),
    shared_rows=True,
    plain_rows=True,
    log=print,
    on_row=None,
    on_plan=None,
) -> list[dict]:
    """Rows of the benchmark table, all timed in this one process on ``device``.

    CUDA: the paper's pattern; ours eager K=1; ours graph K=1 and every K of ``groups``;
    with ``shared_rows`` also graph K=1 and the largest K with one shared noise stream,
    the price of per-network streams; with ``plain_rows``, the same groups written as
    plain PyTorch. CPU: the same rows, eager. ``on_row(row)`` gets each row as soon as it
    is measured (so a run cut short keeps what it finished); ``on_plan(names)`` the
    labels of every row before the first is measured (so a summary can name the rows a
    cut-short run did not reach).
    """
    device = torch.device(device)
    plan = _plan(device, steps, groups, shared_rows, plain_rows)
    if on_plan:
        on_plan([PAPER_ROW] + [row[0] for row in plan])
    train_data = load_mnist(raw_dir, train=True)
    paper_ms, note = paper_pattern_ms_per_step(raw_dir, device, steps["paper"])
    baseline = BenchmarkRow(PAPER_ROW + note, 1, paper_ms, "eager", "eager", "", "")
    log(f"{baseline.name}: {paper_ms:.3f} ms/step")
    rows = [baseline.as_dict(paper_ms)]
    if on_row:
        on_row(rows[-1])
    for name, k, n_steps, graph, streams, expected_path in plan:
        if graph is None:  # the plain-PyTorch row
            ms, path, reason = plain_ms_per_step(train_data, device, k, n_steps), "eager", ""
            n_seeds = len({spec.seed for spec in sweep_group_specs(k)})
            timed = n_steps
        else:
            ms, path, reason, n_seeds, timed = engine_ms_per_step(
                train_data, device, k, n_steps, graph, streams
            )
        row = BenchmarkRow(name, k, ms, expected_path, path, reason, streams, n_seeds, timed)
        rows.append(row.as_dict(paper_ms))
        if on_row:
            on_row(rows[-1])
        flag = "" if path == expected_path else f"  WARNING: ran {path} ({reason})"
        log(f"{name}: {ms:.3f} ms/step ({path}){flag}")
    return rows


# Operators one training step may dispatch (views and detach excluded), whatever the group
# size: the stand-in, measurable on a CPU, for the nodes of the CUDA graph a GPU step
# replays (tests/test_engine.py checks it; docs/speed.md).
STEP_OPERATOR_BUDGET = 150


def step_operator_counts(
    networks: int,
    seeds=(0, 1),
    gpu_like: bool = True,
    noise=("heterogeneous", "homogeneous"),
):
    """Operators (``collections.Counter`` by ATen name) that one training step of
    ``networks`` networks of the paper architecture dispatches, views and ``detach``
    excluded: what would be kernels (graph nodes) on a GPU.

    The networks cycle through ``seeds`` and ``noise``; divergence isolation is on, as in
    training jobs. ``gpu_like``: the step as it runs on a GPU, where the freezing masks
    run every step (on the CPU they are skipped while every network is alive). Counted
    on the CPU, in a ``TorchDispatchMode``, after two warm-up steps.
    """
    import collections

    from torch.utils._python_dispatch import TorchDispatchMode

    from .engine import _set_up

    class _Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.counts = collections.Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if not func.is_view and func.overloadpacket is not torch.ops.aten.detach:
                self.counts[str(func.overloadpacket)] += 1
            return func(*args, **(kwargs or {}))

    model = StochasticMLP(
        [784, 100, 100, 10],
        [noise[i % len(noise)] for i in range(networks)],
        [seeds[i % len(seeds)] for i in range(networks)],
    )
    objective = EnergyEfficientObjective([0.1] * networks, [2.0] * networks, 1e-4, 1000, 20)
    gen = torch.Generator().manual_seed(0)
    data = Dataset(
        torch.rand(1000, 784, generator=gen), torch.randint(0, 10, (1000,), generator=gen)
    )
    # As a GPU runs it: the fused step's PyTorch kernels (numba runs on the CPU only).
    backend = "torch" if gpu_like else "auto"
    options = TrainOptions(1, 20, 1e-3, on_non_finite="isolate", fused_backend=backend)
    body = _set_up(model, objective, data, options, None, None, lambda _m: None, None).body
    body.host_checks = not gpu_like
    body.batch_idx.copy_(torch.arange(20).repeat(networks, 1))
    for _ in range(2):
        body()
    with _Count() as counter:
        body()
    return counter.counts


def device_name(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
