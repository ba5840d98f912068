"""The Fig. 2/3 sweep of one seed at paper settings, as one vectorised group, within a time budget.

    PYTHONPATH=workflow python workflow/benchmarks/paper_sweep.py --mnist DIR --out sweep.csv \
        --budget-s 360 [--benchmark benchmark.csv] [--epochs 50] [--train-subset N]

Paper settings as published (the defaults of config.yaml, variant as_published):
784-100-100-10, 50 epochs on all 60,000 images, batch 20, Adam 1e-4, λ = 1e-4, σ
initialised at 1e-4, float32; ρ in {1/2, 2/3, 4/3, 2}, c = 10^k for k = -4, -3.75, ...,
3.25 (the published grid), both noise settings: 240 networks per seed. If the benchmark
CSV (``train_speed.py`` on the same device) says that 240 networks do not fit the budget,
the largest evenly thinned subset of c values that fits is trained instead; an epoch that
would end past the budget is not started.

Writes one CSV, one row per network and epoch: train loss and accuracy, RMS σ, the
sampled test accuracy (every ``--test-every`` epochs and after the last), divergence,
and, in the last epoch's row, the mean-weight test accuracy. Needs PyTorch only (no
Snakemake, no pandas): the GPU check runs it on a bare machine.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the efficient_synapses package

from efficient_synapses.data.raw import load_mnist  # noqa: E402
from efficient_synapses.training.engine import (  # noqa: E402
    StopTraining,
    TrainOptions,
    evaluate,
    noise_generators,
    resolve_device,  # noqa: E402
    train,
)
from efficient_synapses.training.model import StochasticMLP  # noqa: E402
from efficient_synapses.training.objectives import EnergyEfficientObjective  # noqa: E402
from efficient_synapses.training.speed import prepare_mnist  # noqa: E402

# The paper's settings as config.yaml holds them (checked against it when PyYAML is there).
RHOS = {"1/2": 0.5, "2/3": 2 / 3, "4/3": 4 / 3, "2": 2.0}
LOG10_C = [-4.0 + 0.25 * i for i in range(30)]
NOISE = ["heterogeneous", "homogeneous"]
PAPER = {
    "layer_sizes": [784, 100, 100, 10],
    "epochs": 50,
    "batch_size": 20,
    "learning_rate": 1e-4,
    "magnitude_lambda": 1e-4,
    "mu_init_range": 0.1,
    "sigma_init": 1e-4,
}
STEPS_PER_EPOCH = 3000


def check_against_config(config_path: Path) -> None:
    """Stop if config.yaml's sweep or training defaults (its variant's learning rate and λ
    where they are null) differ from the constants above."""
    try:
        import yaml
    except ImportError:
        print("PyYAML absent: the paper settings are this script's constants")
        return
    from efficient_synapses.config import resolve_training

    config = yaml.safe_load(config_path.read_text())
    problems = _sweep_problems(config["sweep"])
    training = resolve_training(config["training"])
    for key, value in PAPER.items():
        if training[key] != value:
            problems.append(f"training.{key} {training[key]!r} != {value!r}")
    if problems:
        raise SystemExit(f"{config_path}: " + "; ".join(problems))


def _sweep_problems(sweep: dict) -> list[str]:
    grid = sweep["log10_c"]
    n = round((grid["stop"] - grid["start"]) / grid["step"]) + 1
    expected = [grid["start"] + grid["step"] * i for i in range(n)]
    problems = []
    if list(sweep["rho"]) != list(RHOS):
        problems.append(f"sweep.rho {sweep['rho']} != {list(RHOS)}")
    same_grid = len(expected) == len(LOG10_C) and all(
        math.isclose(a, b) for a, b in zip(expected, LOG10_C, strict=True)
    )
    if not same_grid:
        problems.append(f"sweep.log10_c {grid} differs")
    if list(sweep["noise"]) != NOISE:
        problems.append(f"sweep.noise {sweep['noise']} != {NOISE}")
    return problems


def sweep_networks(n_c: int) -> list[tuple[str, str, float]]:
    """(noise, ρ, log10 c) of the sweep with ``n_c`` c values per (noise, ρ), evenly spread."""
    if n_c >= len(LOG10_C):
        picked = LOG10_C
    else:
        idx = sorted({round(i * (len(LOG10_C) - 1) / (n_c - 1)) for i in range(n_c)})
        picked = [LOG10_C[i] for i in idx]
    return [(noise, rho, k) for noise in NOISE for rho in RHOS for k in picked]


def measured_ms_per_step(benchmark_csv: Path | None) -> dict[int, float]:
    """{K: ms per step} of the CUDA-graph rows with per-network streams of a benchmark CSV."""
    if benchmark_csv is None or not benchmark_csv.is_file():
        return {}
    out = {}
    with open(benchmark_csv, newline="") as f:
        for row in csv.DictReader(f):
            if row["noise_streams"] == "per_network" and row["path_ran"] == "cuda_graph":
                out[int(row["networks"])] = float(row["ms_per_step"])
    return out


def choose_c_count(budget_s: float, epochs: int, steps: int, ms: dict[int, float]) -> int:
    """The most c values per (noise, ρ) whose group fits ``budget_s`` by the measured speed.

    ms per step is interpolated linearly in K between measured group sizes (a group's
    step costs a fixed part plus a part per network); 90 % of the budget is planned, the
    rest is left for evaluation and the epochs' bookkeeping.
    """
    if not ms:
        return len(LOG10_C)
    sizes = sorted(ms)

    def step_ms(k: int) -> float:
        if len(sizes) == 1:
            return ms[sizes[0]] * max(k / sizes[0], 1.0)
        lo, hi = (sizes[-2], sizes[-1]) if k > sizes[-1] else (sizes[0], sizes[1])
        for a, b in zip(sizes, sizes[1:], strict=False):
            if a <= k <= b:
                lo, hi = a, b
        slope = (ms[hi] - ms[lo]) / (hi - lo)
        return max(ms[lo] + slope * (k - lo), min(ms.values()))

    for n_c in range(len(LOG10_C), 1, -1):
        k = len(sweep_networks(n_c))
        if step_ms(k) * steps * epochs / 1000 <= 0.9 * budget_s:
            return n_c
    return 2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="MNIST idx files or their .gz files")
    parser.add_argument("--out", required=True, help="CSV: one row per network and epoch")
    parser.add_argument("--budget-s", type=float, required=True, help="seconds for training")
    parser.add_argument("--benchmark", type=Path, default=None, help="train_speed.py CSV")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=PAPER["epochs"])
    parser.add_argument("--train-subset", type=int, default=None, help="first N images only")
    parser.add_argument("--n-c", type=int, default=None, help="c values per (noise, ρ)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-every", type=int, default=5)
    parser.add_argument("--noise-streams", default="per_network", choices=["per_network", "shared"])
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    check_against_config(Path(__file__).resolve().parents[2] / "config.yaml")
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        raw = prepare_mnist(args.mnist, tmp)
        train_data = load_mnist(raw, train=True, subset=args.train_subset)
        test_data = load_mnist(raw, train=False)
    steps = len(train_data) // PAPER["batch_size"]
    n_c = args.n_c or choose_c_count(
        args.budget_s, args.epochs, steps, measured_ms_per_step(args.benchmark)
    )
    networks = sweep_networks(n_c)
    print(
        f"{len(networks)} networks ({n_c} c values x {len(RHOS)} rho x {len(NOISE)} noise, "
        f"seed {args.seed}), {args.epochs} epochs of {steps} steps on {device}; "
        f"budget {args.budget_s:.0f} s"
    )
    model, objective = build_group(networks, args.seed, len(train_data), device)
    options = TrainOptions(
        args.epochs,
        PAPER["batch_size"],
        PAPER["learning_rate"],
        noise_streams=args.noise_streams,
        on_non_finite="isolate",
        log_every=max(1, args.epochs // 10),
    )
    rows = SweepRows(args, networks, started)
    history = train(
        model,
        objective,
        train_data,
        options,
        describe=[f"noise={n} rho={r} c=1e{lc:g}" for n, r, lc in networks],
        log=lambda message: print(message, flush=True),
        after_epoch=EpochRecord(args, test_data, started + args.budget_s),
        epoch_done=rows.append_epoch,
    )
    n_div = sum(e is not None for e in history.diverged_epoch)
    print(
        f"wrote {args.out}: {len(networks)} networks x {len(history.epoch)} epochs"
        f"{' (stopped ' + history.stopped + ')' if history.stopped else ''}; {n_div} diverged; "
        f"steps ran as {history.step_path}; {time.perf_counter() - started:.0f} s"
    )
    return 0


def build_group(networks, seed: int, n_train: int, device):
    """The sweep's networks as one group at paper settings, and their objective."""
    k = len(networks)
    model = StochasticMLP(
        PAPER["layer_sizes"],
        noise=[n for n, _, _ in networks],
        seeds=[seed] * k,
        mu_init_range=PAPER["mu_init_range"],
        sigma_init=PAPER["sigma_init"],
        device=device,
    )
    objective = EnergyEfficientObjective(
        c=[10.0**lc for _, _, lc in networks],
        rho=[RHOS[r] for _, r, _ in networks],
        magnitude_lambda=PAPER["magnitude_lambda"],
        n_train=n_train,
        batch_size=PAPER["batch_size"],
        device=device,
    )
    return model, objective


class EpochRecord:
    """``after_epoch`` of the sweep: RMS σ every epoch, the sampled test accuracy every
    ``--test-every`` epochs and at the end; stops before an epoch that would end past the
    ``deadline`` (with the test accuracies of the last epoch that ran)."""

    def __init__(self, args, test_data, deadline: float):
        self.args, self.test_data, self.deadline = args, test_data, deadline
        self.epoch_started = time.perf_counter()

    def sampled(self, model: StochasticMLP, epoch: int) -> list[float]:
        gens = noise_generators(model, self.args.noise_streams, 1000 + epoch)
        return evaluate(model, self.test_data, True, 1000, gens)["accuracy"]

    def at_mean(self, model: StochasticMLP) -> list[float]:
        return evaluate(model, self.test_data, False, 1000)["accuracy"]

    def __call__(self, epoch: int, model: StochasticMLP) -> dict[str, list[float]]:
        epochs = self.args.epochs
        values = {"sigma_rms": model.weight_sigma_rms().tolist()}
        if epoch % self.args.test_every == 0 or epoch == epochs:
            values["test_accuracy_sampled"] = self.sampled(model, epoch)
        if epoch == epochs:
            values["test_accuracy_mean_weights"] = self.at_mean(model)
        now = time.perf_counter()
        last, self.epoch_started = now - self.epoch_started, now
        if epoch < epochs and now + 1.1 * last > self.deadline:
            if "test_accuracy_sampled" not in values:
                values["test_accuracy_sampled"] = self.sampled(model, epoch)
            values["test_accuracy_mean_weights"] = self.at_mean(model)
            raise StopTraining(f"epoch {epoch + 1} would end past the budget", values)
        return values


FIELDS = [
    "noise",
    "rho",
    "log10_c",
    "c",
    "seed",
    "epoch",
    "epochs_planned",
    "train_loss",
    "train_accuracy",
    "sigma_rms",
    "test_accuracy_sampled",
    "test_accuracy_mean_weights",
    "diverged",
    "diverged_epoch",
    "step_path",
    "wall_seconds",
    "stopped",
]


class SweepRows:
    """The sweep's CSV, one row per network and epoch, appended after every epoch: a run
    cut short (a time limit, a failure) keeps every finished epoch. ``wall_seconds`` is the
    time since the start when the epoch's rows were written."""

    def __init__(self, args, networks, started: float):
        self.args, self.networks, self.started = args, networks, started
        self.path = Path(args.out)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            csv.DictWriter(f, fieldnames=FIELDS).writeheader()

    def append_epoch(self, history) -> None:
        e = len(history.epoch) - 1
        values = history.epoch_metrics[e]
        sampled = values.get("test_accuracy_sampled")
        at_mean = values.get("test_accuracy_mean_weights")
        wall = round(time.perf_counter() - self.started, 1)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            for i, (noise, rho, lc) in enumerate(self.networks):
                writer.writerow(
                    {
                        "noise": noise,
                        "rho": rho,
                        "log10_c": lc,
                        "c": 10.0**lc,
                        "seed": self.args.seed,
                        "epoch": history.epoch[e],
                        "epochs_planned": self.args.epochs,
                        "train_loss": history.loss[e][i],
                        "train_accuracy": history.train_accuracy[e][i],
                        "sigma_rms": values["sigma_rms"][i],
                        "test_accuracy_sampled": sampled[i] if sampled else "",
                        "test_accuracy_mean_weights": at_mean[i] if at_mean else "",
                        "diverged": history.diverged_epoch[i] is not None,
                        "diverged_epoch": history.diverged_epoch[i] or "",
                        "step_path": history.step_path,
                        "wall_seconds": wall,
                        "stopped": history.stopped,
                    }
                )


if __name__ == "__main__":
    sys.exit(main())
