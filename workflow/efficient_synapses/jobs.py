"""Training jobs: hyper-parameters in, trained parameters and metrics out.

A job trains one network (noise setting, ρ, c, seed) or a group of them in one
process, and writes for each network the same files: ``params.pt`` (μ and σ of
every layer) and ``metrics.json``.
"""

from __future__ import annotations

import platform
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import __version__
from .config import prior_scale
from .costs import reliability_cost_at_s
from .data import load_mnist
from .engine import TrainOptions, dump_json, evaluate, history_to_json, train
from .labels import parse_rho
from .model import StochasticMLP
from .objectives import EnergyEfficientObjective, VariationalObjective


@dataclass(frozen=True)
class NetworkSpec:
    noise: str
    rho: str  # as written in config, e.g. "2/3"
    c: float
    seed: int

    def describe(self) -> str:
        return f"noise={self.noise} rho={self.rho} c={self.c:.6g} seed={self.seed}"


DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"training.device is {name!r} but CUDA is not available here")
    return device


def noise_seed_for(specs: list[NetworkSpec]) -> int:
    """Seed of the weight-noise stream: the network's own seed when trained alone."""
    if len(specs) == 1:
        return specs[0].seed
    key = repr([(s.seed, s.noise, s.rho, s.c) for s in specs]).encode()
    return zlib.crc32(key)  # stable across processes, unlike hash()


def save_params(model: StochasticMLP, index: int, path: Path) -> None:
    """μ and σ of network ``index`` as plain tensors (layer l: weight (out, in), bias (out,))."""
    with torch.no_grad():
        sigmas = model.sigmas()
        params = {
            "layer_sizes": list(model.layer_sizes),
            "noise": model.noise[index],
            "mu_weight": [w[index].cpu().clone() for w in model.mu_w],
            "mu_bias": [b[index].cpu().clone() for b in model.mu_b],
            "sigma_weight": [sw[index].cpu().clone() for sw, _ in sigmas],
            "sigma_bias": [sb[index].cpu().clone() for _, sb in sigmas],
        }
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(params, tmp)
    tmp.replace(path)


def versions() -> dict[str, str]:
    return {
        "efficient_synapses": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def load_training_data(training: dict, mnist_dir: str | Path, dtype):
    """Training and test sets as ``training`` (config.yaml) sets them: subsets, dtype."""
    train_data = load_mnist(mnist_dir, train=True, subset=training.get("train_subset"), dtype=dtype)
    test_data = load_mnist(mnist_dir, train=False, subset=training.get("test_subset"), dtype=dtype)
    return train_data, test_data


def train_options(training: dict, noise_seed: int) -> TrainOptions:
    return TrainOptions(
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        learning_rate=training["learning_rate"],
        sigma_learning_rate=training.get("sigma_learning_rate"),
        cuda_graph=training.get("cuda_graph", True),
        noise_seed=noise_seed,
    )


def build_model(training: dict, noise: list[str], seeds: list[int], device, dtype):
    """The networks ``training`` describes (layers, initialisation), one per (noise, seed)."""
    return StochasticMLP(
        training["layer_sizes"],
        noise=noise,
        seeds=seeds,
        mu_init_range=training["mu_init_range"],
        sigma_init=training["sigma_init"],
        dtype=dtype,
        device=device,
    )


def evaluate_on_test(model, test_data, training: dict, noise_seed: int, device):
    """Test accuracy and cross-entropy with sampled weights and at the means μ."""
    generator = torch.Generator(device=device).manual_seed(noise_seed + 1)
    sampled = evaluate(model, test_data, True, training["batch_size"], generator)
    at_mean = evaluate(model, test_data, False, training["eval_batch_size"])
    return sampled, at_mean


def run_training(
    specs: list[NetworkSpec],
    training: dict,
    mnist_dir: str | Path,
    out_dirs: list[str | Path],
    log=print,
    threads: int | None = None,
) -> list[dict]:
    """Train ``specs`` together and write params.pt and metrics.json into each out_dir.

    ``training`` is the ``training`` section of config.yaml (see the schema).
    """
    if threads:
        torch.set_num_threads(int(threads))
    out_dirs = [Path(d) for d in out_dirs]
    for d in out_dirs:
        d.mkdir(parents=True, exist_ok=True)
    device = resolve_device(training["device"])
    dtype = DTYPES[training["dtype"]]
    wall_start = time.perf_counter()

    train_data, test_data = load_training_data(training, mnist_dir, dtype)
    log(
        f"{len(specs)} network(s) on {device} ({training['dtype']}); "
        f"{len(train_data)} training and {len(test_data)} test examples"
    )
    model = build_model(training, [s.noise for s in specs], [s.seed for s in specs], device, dtype)
    rhos = [float(parse_rho(s.rho)) for s in specs]
    objective = EnergyEfficientObjective(
        c=[s.c for s in specs],
        rho=rhos,
        magnitude_lambda=training["magnitude_lambda"],
        n_train=len(train_data),
        batch_size=training["batch_size"],
        device=device,
        dtype=dtype,
    )
    options = train_options(training, noise_seed_for(specs))
    describe = [s.describe() for s in specs]
    checkpoint = out_dirs[0] / "checkpoint.pt"
    history = train(
        model,
        objective,
        train_data,
        options,
        describe=describe,
        checkpoint_path=checkpoint,
        log=log,
    )

    sampled, at_mean = evaluate_on_test(model, test_data, training, options.noise_seed, device)
    rms = model.weight_sigma_rms().tolist()
    wall = time.perf_counter() - wall_start
    results = []
    with torch.no_grad():
        sigmas = model.sigmas()
        for i, (spec, out) in enumerate(zip(specs, out_dirs, strict=True)):
            weight_sigmas = torch.cat([sw[i].flatten() for sw, _ in sigmas]).double()
            metrics = {
                **asdict(spec),
                "rho_value": rhos[i],
                "test_accuracy_sampled": sampled["accuracy"][i],
                "test_accuracy_mean_weights": at_mean["accuracy"][i],
                "test_cross_entropy_sampled": sampled["cross_entropy"][i],
                "sigma_rms": rms[i],
                "sigma_mean": weight_sigmas.mean().item(),
                "reliability_cost_s1": reliability_cost_at_s(weight_sigmas, rhos[i], 1.0).item(),
                "final_train_loss": history.loss[-1][i],
                "final_train_accuracy": history.train_accuracy[-1][i],
                "wall_seconds": wall,
                "device": str(device),
                "group": describe,
                "group_index": i,
                "hyperparameters": dict(training),
                "n_train": len(train_data),
                "n_test": len(test_data),
                "versions": versions(),
                "history": history_to_json(history, i),
            }
            save_params(model, i, out / "params.pt")
            dump_json(metrics, out / "metrics.json")
            results.append(metrics)
            log(
                f"done {spec.describe()}: sampled test acc {metrics['test_accuracy_sampled']:.4f}, "
                f"mean-weight test acc {metrics['test_accuracy_mean_weights']:.4f}, "
                f"sigma rms {metrics['sigma_rms']:.4g}"
            )
    checkpoint.unlink(missing_ok=True)
    return results


def run_posterior_fit(
    seed: int,
    training: dict,
    posterior: dict,
    mnist_dir: str | Path,
    out_dir: str | Path,
    log=print,
    threads: int | None = None,
) -> dict:
    """Variational posterior (Bayes by backprop) of the network ``training`` describes.

    The same engine, initialisation (from ``seed``), data order and optimiser settings
    as a training job; only the objective differs: the negative ELBO
    (``VariationalObjective``). Writes ``posterior.pt`` (posterior mean μ and standard
    deviation of every weight and bias, the layout of ``params.pt``) and ``metrics.json``
    (ELBO per epoch, test accuracy, the prior, full settings).
    """
    if threads:
        torch.set_num_threads(int(threads))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(training["device"])
    dtype = DTYPES[training["dtype"]]
    wall_start = time.perf_counter()
    train_data, test_data = load_training_data(training, mnist_dir, dtype)
    # A factorised Gaussian posterior: one σ per weight, the heterogeneous setting.
    model = build_model(training, ["heterogeneous"], [seed], device, dtype)
    scale = prior_scale(training, posterior)
    objective = VariationalObjective(
        posterior["prior"], scale, n_train=len(train_data), batch_size=training["batch_size"]
    )
    describe = f"posterior {posterior['prior']} prior scale={scale:.6g} seed={seed}"
    log(
        f"{describe}: layers {training['layer_sizes']} on {device} ({training['dtype']}); "
        f"{len(train_data)} training and {len(test_data)} test examples"
    )
    options = train_options(training, seed)
    checkpoint = out_dir / "checkpoint.pt"
    history = train(
        model, objective, train_data, options, [describe], checkpoint_path=checkpoint, log=log
    )
    sampled, at_mean = evaluate_on_test(model, test_data, training, seed, device)
    # The epoch's mean minibatch loss estimates -ELBO x B/N; per datapoint: / B.
    elbo = [-loss[0] / training["batch_size"] for loss in history.loss]
    with torch.no_grad():
        weight_sd = torch.cat([sw[0].flatten() for sw, _ in model.sigmas()]).double()
    metrics = {
        "seed": seed,
        "layer_sizes": list(training["layer_sizes"]),
        "prior": posterior["prior"],
        "prior_scale": scale,
        "elbo_per_datapoint": elbo,
        "final_elbo_per_datapoint": elbo[-1],
        "test_accuracy_sampled": sampled["accuracy"][0],
        "test_accuracy_mean_weights": at_mean["accuracy"][0],
        "test_cross_entropy_sampled": sampled["cross_entropy"][0],
        "posterior_sd_median": weight_sd.median().item(),
        "posterior_sd_rms": weight_sd.pow(2).mean().sqrt().item(),
        "wall_seconds": time.perf_counter() - wall_start,
        "device": str(device),
        "hyperparameters": dict(training),
        "n_train": len(train_data),
        "n_test": len(test_data),
        "versions": versions(),
        "history": history_to_json(history, 0),
    }
    save_params(model, 0, out_dir / "posterior.pt")
    dump_json(metrics, out_dir / "metrics.json")
    log(
        f"done {describe}: ELBO/datapoint {elbo[-1]:.4f}, sampled test acc "
        f"{metrics['test_accuracy_sampled']:.4f}, median posterior sd "
        f"{metrics['posterior_sd_median']:.4g}"
    )
    checkpoint.unlink(missing_ok=True)
    return metrics
