"""Training jobs: hyper-parameters in, trained parameters and metrics out.

A job trains one network (noise setting, ρ, c, seed) or a group of them in one
process, and writes for each network the same files: ``params.pt`` (μ and σ of
every layer) and ``metrics.json``.
"""

from __future__ import annotations

import math
import platform
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from .. import __version__
from ..artefacts import (
    METRICS_FILE,
    PARAMS_FILE,
    POSTERIOR_FILE,
    NetworkSpec,
    checkpoint_file,
    load_params,
    remove_other_checkpoints,
    write_metrics,
)
from ..config import model_variant, prior_scale, resolve_training
from ..costs import reliability_cost_at_s
from ..data.raw import Dataset, load_mnist
from .chance_bound import network_cost_summary, trivial_cost_lower_bound
from .drift import drift_metrics, unit_activity_record
from .engine import (
    TrainHistory,
    TrainOptions,
    evaluate,
    history_to_json,
    noise_generators,
    resolve_device,
    train,
)
from .fused import set_threads
from .model import StochasticMLP
from .objectives import EnergyEfficientObjective, VariationalObjective
from .params import save_params, set_means

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def noise_seed_for(specs: list[NetworkSpec], noise_streams: str = "per_network") -> int:
    """The engine's ``noise_seed`` for a job training ``specs``.

    per_network (the default): 0 for every job: each network's stream is seeded from its
    own seed (``model.noise_stream_seed``), so a network gets the same noise alone or in
    any group. shared: one stream for the group, seeded from the network's own seed when
    it is trained alone and from the group's composition otherwise.
    """
    if noise_streams == "per_network":
        return 0
    if len(specs) == 1:
        return specs[0].seed
    key = repr([(s.seed, s.noise, s.rho, s.c) for s in specs]).encode()
    return zlib.crc32(key)  # stable across processes, unlike hash()


def last_finite(per_epoch: list[list[float]], index: int) -> float:
    """The last finite value of network ``index`` in a per-epoch history (NaN if none)."""
    for values in reversed(per_epoch):
        if math.isfinite(values[index]):
            return values[index]
    return float("nan")


def divergence_metrics(history, index: int) -> dict:
    """metrics.json keys of a network's divergence, and how its training steps ran.

    ``diverged_step`` counts steps from the start of training (from 1); the network's
    parameters stayed at their values before that step (the engine freezes them).
    """
    step = history.diverged_step[index] if history.diverged_step else None
    return {
        "diverged": step is not None,
        "diverged_epoch": history.diverged_epoch[index] if step is not None else None,
        "diverged_step": step,
        "step_path": history.step_path,
        "step_path_reason": history.step_path_reason,
    }


def finite_or_none(metrics: dict) -> dict:
    """Top-level NaN or infinite values as None (JSON null): for a diverged network only."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in metrics.items()
    }


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
        noise_streams=training.get("noise_streams", "per_network"),
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
        variant=model_variant(training),
        relu_placement=training.get("relu_placement"),
        homogeneous_form=training.get("homogeneous_form"),
    )


def evaluate_on_test(
    model, test_data, training: dict, noise_seed: int, device, unit_activity: bool = False
):
    """Test accuracy and cross-entropy with sampled weights and at the means μ (and, with
    ``unit_activity``, each hidden unit's activity in the sampled pass)."""
    streams = training.get("noise_streams", "per_network")
    generator = noise_generators(model, streams, noise_seed + 1, device)
    sampled = evaluate(
        model, test_data, True, training["batch_size"], generator, unit_activity=unit_activity
    )
    at_mean = evaluate(model, test_data, False, training["eval_batch_size"])
    return sampled, at_mean


def test_set_metrics(sampled: dict, at_mean: dict, index: int) -> dict:
    """Test accuracy (sampled weights and mean weights) and cross-entropy of network ``index``."""
    return {
        "test_accuracy_sampled": sampled["accuracy"][index],
        "test_accuracy_mean_weights": at_mean["accuracy"][index],
        "test_cross_entropy_sampled": sampled["cross_entropy"][index],
    }


def job_metrics(history, index, describe, training, train_data, test_data, device, wall) -> dict:
    """The keys every fitted network's metrics.json shares: provenance and history."""
    return {
        "wall_seconds": wall,
        "device": str(device),
        "group": describe,
        "group_index": index,
        "hyperparameters": dict(training),
        "n_train": len(train_data),
        "n_test": len(test_data),
        "versions": versions(),
        "history": history_to_json(history, index),
    }


def epoch_history_hook(model, test_data, training: dict, noise_seed: int, device, train_data=None):
    """``after_epoch`` of the engine: what a user needs to see whether training settled.

    Every epoch: RMS σ over the weights (``sigma_rms``). Every
    ``training.history_test_every`` epochs: the sampled and the mean-weight test
    accuracy and, given ``train_data``, the drift measurements (``drift.drift_metrics``:
    silent units at w = μ over the training set, active fractions in the sampled test
    pass, RMS σ of live and silent-touching weights). After the last epoch the job's
    final evaluation makes the same passes, and ``run_training`` writes its values into
    the last entry (``record_final_epoch``) instead of passing over the data twice.
    The sampled pass draws from its own generators (stream noise_seed + 1 + epoch),
    never from the training noise stream, and nothing here changes a parameter, so
    recording the history leaves training unchanged.
    """
    every = int(training.get("history_test_every", 0) or 0)
    epochs = int(training["epochs"])

    def after_epoch(epoch: int, model_: StochasticMLP) -> dict[str, list[float]]:
        values = {"sigma_rms": model_.weight_sigma_rms().tolist()}
        if every and epoch % every == 0 and epoch != epochs:
            # Stream noise_seed + 1 is the final test; each epoch's sampled pass has its
            # own, and draws per network as training does, so it does not depend on the group.
            streams = training.get("noise_streams", "per_network")
            generator = noise_generators(model_, streams, int(noise_seed) + 1 + epoch, device)
            record = train_data is not None
            sampled = evaluate(
                model_, test_data, True, training["batch_size"], generator, unit_activity=record
            )
            at_mean = evaluate(model_, test_data, False, training["eval_batch_size"])
            values["test_accuracy_sampled"] = sampled["accuracy"]
            values["test_accuracy_mean_weights"] = at_mean["accuracy"]
            if record:
                values.update(unit_drift(model_, train_data, training, sampled)[0])
        return values

    return after_epoch


def record_final_epoch(history, sampled: dict, at_mean: dict, drift: dict | None) -> None:
    """The final evaluation's test accuracies (sampled, at μ) and drift measurements as the
    history's entry of the last epoch (``epoch_history_hook`` leaves them to it)."""
    if not history.epoch_metrics:
        return
    last = history.epoch_metrics[-1]
    last["test_accuracy_sampled"] = sampled["accuracy"]
    last["test_accuracy_mean_weights"] = at_mean["accuracy"]
    last.update(drift or {})


def unit_drift(model, train_data, training: dict, sampled: dict | None):
    """``drift.drift_metrics`` of every network, and the pass over the training set at
    w = μ it rests on (``evaluate`` with unit activity)."""
    at_mean = evaluate(model, train_data, False, training["eval_batch_size"], unit_activity=True)
    return drift_metrics(model, at_mean, sampled), at_mean


@dataclass
class FitSetup:
    """What every fit job has before it builds its networks: settings, data, outputs."""

    training: dict
    out_dirs: list[Path]
    device: torch.device
    dtype: torch.dtype
    train_data: Dataset
    test_data: Dataset
    wall_start: float


def prepare_fit(training: dict, mnist_dir, out_dirs, threads: int | None) -> FitSetup:
    """Threads, output directories, device, dtype and data of a job ``training`` describes
    (its variant resolved: ``config.resolve_training``)."""
    training = resolve_training(training)
    if threads:
        torch.set_num_threads(int(threads))
        set_threads(int(threads))  # numba's kernels of the fused step
    out_dirs = [Path(d) for d in out_dirs]
    for d in out_dirs:
        d.mkdir(parents=True, exist_ok=True)
    device = resolve_device(training["device"])
    dtype = DTYPES[training["dtype"]]
    wall_start = time.perf_counter()
    train_data, test_data = load_training_data(training, mnist_dir, dtype)
    return FitSetup(training, out_dirs, device, dtype, train_data, test_data, wall_start)


def fit_and_write(
    setup: FitSetup,
    model: StochasticMLP,
    objective,
    options: TrainOptions,
    describe: list[str],
    network_metrics: Callable[[TrainHistory, dict, dict], list[dict]],
    summary: Callable[[dict], str],
    log=print,
    params_file: str = PARAMS_FILE,
    after_epoch=None,
    unit_activity: bool = False,
) -> list[dict]:
    """The steps every fit job takes: train, evaluate on the test set, write each network.

    ``network_metrics(history, sampled, at_mean)``: the job's own metrics.json keys, one
    dict per network, given the history and the final sampled and mean-weight test passes
    (``engine.evaluate``, the sampled one with each hidden unit's activity if
    ``unit_activity``); the keys every fitted
    network shares (test accuracies, provenance, history) are added here. Writes
    ``params_file`` (μ and σ of every layer) and metrics.json into the network's out_dir;
    ``summary(metrics)`` is the end of its closing log line. The checkpoint (in the first
    out_dir, named after the job's settings and networks) lets a killed job resume; it is
    removed at the end, and so is one of other settings.
    """
    # The device type is part of the name: generator states do not move between a CPU
    # and a GPU, so a job moved to the other kind starts afresh (and removes the other).
    identity = {"training": setup.training, "networks": describe, "device": setup.device.type}
    name = checkpoint_file(identity)
    for stale in remove_other_checkpoints(setup.out_dirs[0], keep=name):
        log(f"removed {stale}: the checkpoint of a run with other settings")
    checkpoint = setup.out_dirs[0] / name
    history = train(
        model,
        objective,
        setup.train_data,
        options,
        describe=describe,
        checkpoint_path=checkpoint,
        log=log,
        after_epoch=after_epoch,
    )
    sampled, at_mean = evaluate_on_test(
        model, setup.test_data, setup.training, options.noise_seed, setup.device, unit_activity
    )
    wall = time.perf_counter() - setup.wall_start
    with torch.no_grad():
        own = network_metrics(history, sampled, at_mean)
    data = (setup.training, setup.train_data, setup.test_data, setup.device, wall)
    results = []
    for i, out in enumerate(setup.out_dirs):
        metrics = {
            **own[i],
            **test_set_metrics(sampled, at_mean, i),
            **job_metrics(history, i, describe, *data),
        }
        if metrics.get("diverged"):
            metrics = finite_or_none(metrics)
            log(
                f"DIVERGED {describe[i]} at step {metrics['diverged_step']} (epoch "
                f"{metrics['diverged_epoch']}): metrics below are of its frozen parameters"
            )
        save_params(model, i, out / params_file)
        write_metrics(metrics, out / METRICS_FILE)
        results.append(metrics)
        log(f"done {describe[i]}: {summary(metrics)}")
    checkpoint.unlink(missing_ok=True)
    return results


def own_sigma_rms(model: StochasticMLP) -> list[float]:
    """Per network, RMS over the weights of every synapse's own σ_i (released-code variant)."""
    own = model.own_sigmas()
    own_total = sum(sw.pow(2).flatten(1).sum(1) for sw, _ in own)
    return (own_total / sum(w[0].numel() for w in model.mu_w)).sqrt().tolist()


def training_metrics(
    model, specs, history, n_train: int, batch_size: int, trivial, drift=None, variant=None
) -> list[dict]:
    """metrics.json keys of trained networks beyond the shared ones: the training variant
    (``variant``; the model's network-and-cost form when None), σ, costs, divergence,
    and, given ``drift`` (``unit_drift``'s values and its pass at w = μ, with the final
    sampled test pass), silent units, active fractions and the split of RMS σ."""
    variant = model.variant if variant is None else variant
    rms, own_rms = model.weight_sigma_rms().tolist(), own_sigma_rms(model)
    sigmas = model.sigmas()
    out = []
    for i, spec in enumerate(specs):
        weight_sigmas = torch.cat([sw[i].flatten() for sw, _ in sigmas]).double()
        metrics = {
            **asdict(spec),
            "variant": variant,
            "model_variant": model.variant,
            "relu_placement": model.relu_placement,
            "homogeneous_form": model.homogeneous_form,
            "rho_value": spec.rho_value,
            "sigma_rms": rms[i],
            "sigma_mean": weight_sigmas.mean().item(),
            "reliability_cost_s1": reliability_cost_at_s(weight_sigmas, spec.rho_value).item(),
            "final_train_loss": last_finite(history.loss, i),
            "final_train_accuracy": last_finite(history.train_accuracy, i),
            **divergence_metrics(history, i),
        }
        if model.homogeneous_form == "released_code":
            # What the released code reports as σ: RMS of every synapse's own σ_i over
            # the weights; sigma_rms is that of the σ the weights were sampled with.
            metrics["sigma_rms_own"] = own_rms[i]
        # Overall cost at the end (last epoch's means) against a trivial, chance-level
        # network's (efficient_synapses.training.chance_bound).
        last_parts = {name: values[i] for name, values in history.parts[-1].items()}
        summary = network_cost_summary(last_parts, n_train, batch_size, spec.c, trivial)
        metrics["cost_at_end"] = finite_or_none(summary)
        if drift is not None:
            values, at_mean, sampled = drift
            metrics.update({name: v[i] for name, v in values.items()})
            metrics["unit_activity"] = unit_activity_record(at_mean, sampled, i)
        out.append(metrics)
    return out


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
    setup = prepare_fit(training, mnist_dir, out_dirs, threads)
    training = setup.training  # the variant's learning rate and λ filled in
    device, dtype, train_data = setup.device, setup.dtype, setup.train_data
    log(
        f"{len(specs)} network(s) on {device} ({training['dtype']}); "
        f"{len(train_data)} training and {len(setup.test_data)} test examples; variant "
        f"{training['variant']}, learning rate {training['learning_rate']:g}, "
        f"λ {training['magnitude_lambda']:g}"
    )
    model = build_model(training, [s.noise for s in specs], [s.seed for s in specs], device, dtype)
    objective = EnergyEfficientObjective(
        c=[s.c for s in specs],
        rho=[s.rho_value for s in specs],
        magnitude_lambda=training["magnitude_lambda"],
        n_train=len(train_data),
        batch_size=training["batch_size"],
        device=device,
        dtype=dtype,
    )
    noise_seed = noise_seed_for(specs, training.get("noise_streams", "per_network"))
    # A diverging network is frozen and recorded; the rest of its group trains on.
    options = replace(train_options(training, noise_seed), on_non_finite="isolate")
    trivial = trivial_cost_lower_bound(train_data.labels.cpu())

    def network_metrics(history, sampled, at_mean_test):
        n_train, batch_size = len(train_data), training["batch_size"]
        values, at_mean = unit_drift(model, train_data, training, sampled)
        if training.get("history_test_every"):
            record_final_epoch(history, sampled, at_mean_test, values)
        drift = (values, at_mean, sampled)
        return training_metrics(
            model, specs, history, n_train, batch_size, trivial, drift, training["variant"]
        )

    def summary(m):
        return (
            f"sampled test acc {m['test_accuracy_sampled']:.4f}, mean-weight test acc "
            f"{m['test_accuracy_mean_weights']:.4f}, sigma rms {m['sigma_rms']:.4g}"
        )

    after_epoch = epoch_history_hook(
        model, setup.test_data, training, noise_seed, device, train_data=train_data
    )
    describe = [s.describe() for s in specs]
    return fit_and_write(
        setup,
        model,
        objective,
        options,
        describe,
        network_metrics,
        summary,
        log,
        after_epoch=after_epoch,
        unit_activity=True,
    )


def start_from_trained(model: StochasticMLP, index: int, path: str | Path) -> None:
    """Set the means μ (weights and biases) of network ``index`` to those of a params.pt."""
    set_means(model, index, load_params(path))


# Stream number of the weight noise of variational fits: never a training job's (0), so a
# posterior never shares its noise draws with the trained network it is compared with;
# shared ξ would correlate their σ through the common noise path, not through the data.
POSTERIOR_NOISE_STREAM = 1000
# Stream of the data order of variational fits, for the same reason: with the network's
# seed, stream 0 would feed the fit the network's own minibatch sequence.
POSTERIOR_DATA_STREAM = 1


def posterior_noise_seed(seed: int, noise_streams: str = "per_network") -> int:
    """The engine's ``noise_seed`` of a variational fit of networks with this ``seed``.

    per_network: stream POSTERIOR_NOISE_STREAM of each network's own generator; shared:
    one generator for the fit, seeded apart from every training job's.
    """
    if noise_streams == "per_network":
        return POSTERIOR_NOISE_STREAM
    return zlib.crc32(f"posterior seed={int(seed)}".encode())


def posterior_metrics(model, history, fit: dict, starts, start_mu) -> list[dict]:
    """metrics.json keys of variational posteriors beyond the shared ones: ELBO, posterior sd.

    ``fit``: seed, layer sizes, prior and prior scale, batch size of the fit.
    """
    sigmas = model.sigmas()
    out = []
    for i, start in enumerate(starts):
        # The epoch's mean minibatch loss estimates -ELBO x B/N; per datapoint: / B.
        elbo = [-loss[i] / fit["batch_size"] for loss in history.loss]
        weight_sd = torch.cat([sw[i].flatten() for sw, _ in sigmas]).double()
        mu = torch.cat([w[i].flatten() for w in model.mu_w]).double()
        out.append(
            {
                "seed": fit["seed"],
                "start_from": start,
                "layer_sizes": fit["layer_sizes"],
                "prior": fit["prior"],
                "prior_scale": fit["prior_scale"],
                "elbo_per_datapoint": elbo,
                "final_elbo_per_datapoint": elbo[-1],
                "posterior_sd_median": weight_sd.median().item(),
                "posterior_sd_rms": weight_sd.pow(2).mean().sqrt().item(),
                # How far the posterior mean moved from where it started: near 1 when the
                # fit stayed at the trained network's mode (unit identity kept). Dominated
                # by the largest weights; the per-layer distance below is scale-free.
                "mu_correlation_with_start": torch.corrcoef(torch.stack([mu, start_mu[i]]))[
                    0, 1
                ].item(),
                "mu_relative_change": mu_relative_change(model, i, start_mu[i]),
            }
        )
    return out


def mu_relative_change(model: StochasticMLP, index: int, start_mu: torch.Tensor) -> list[float]:
    """Per layer, ‖μ − μ₀‖ / ‖μ₀‖ over the weights of network ``index``: how far a fit's
    posterior mean left the trained network's (``start_mu``: its weights, flat, layer
    after layer). Near 0: it stayed in the network's basin; of order 1: it did not."""
    out, offset = [], 0
    for w in model.mu_w:
        mu = w[index].detach().double().flatten()
        start = start_mu[offset : offset + mu.numel()]
        offset += mu.numel()
        norm = start.norm().item()
        out.append((mu - start).norm().item() / norm if norm > 0 else float("nan"))
    return out


def _posterior_summary(m: dict) -> str:
    return (
        f"ELBO/datapoint {m['final_elbo_per_datapoint']:.4f}, sampled test acc "
        f"{m['test_accuracy_sampled']:.4f}, median posterior sd "
        f"{m['posterior_sd_median']:.4g}, corr(μ, start) {m['mu_correlation_with_start']:.3f}"
    )


def run_posterior_fit(
    seed: int,
    training: dict,
    posterior: dict,
    mnist_dir: str | Path,
    out_dirs: list[str | Path],
    log=print,
    threads: int | None = None,
    start_from: list[str | Path] | None = None,
) -> list[dict]:
    """Variational posteriors (Bayes by backprop) of the network ``training`` describes.

    The same engine, data order (``seed``) and optimiser settings as a training job; only
    the objective differs: the negative ELBO (``VariationalObjective``). One posterior per
    entry of ``out_dirs``, fitted together as one vectorised group.

    ``start_from``: None, one posterior from the initialisation of ``seed`` (Appendix 5's
    network with no hidden layer, whose units have a fixed identity); or one params.pt
    per posterior: the fit starts from that trained network's means μ, so that it descends
    into the posterior mode around the same hidden units and synapse i of the posterior
    corresponds to synapse i of the network (Fig. 7, beyond the paper). σ always starts
    at ``training.sigma_init`` for every synapse, so any heterogeneity of the posterior sd
    comes from the ELBO, never from the trained network's σ.

    Writes into each out_dir ``posterior.pt`` (posterior mean μ and standard deviation of
    every weight and bias, the layout of ``params.pt``) and ``metrics.json`` (ELBO per
    epoch, test accuracy, the prior, the start, full settings).
    """
    if start_from is not None and len(start_from) != len(out_dirs):
        raise ValueError(
            f"{len(start_from)} trained networks to start from but {len(out_dirs)} outputs"
        )
    setup = prepare_fit(training, mnist_dir, out_dirs, threads)
    training = setup.training  # the variant's learning rate and λ filled in
    k = len(setup.out_dirs)
    # A factorised Gaussian posterior: one σ per weight, the heterogeneous setting.
    model = build_model(training, ["heterogeneous"] * k, [seed] * k, setup.device, setup.dtype)
    starts = [None] * k if start_from is None else [str(p) for p in start_from]
    for i, path in enumerate(starts):
        if path is not None:
            start_from_trained(model, i, path)
    with torch.no_grad():
        start_mu = [torch.cat([w[i].flatten() for w in model.mu_w]).double() for i in range(k)]
    scale = prior_scale(training, posterior)
    n_train = len(setup.train_data)
    objective = VariationalObjective(
        posterior["prior"], scale, n_train=n_train, batch_size=training["batch_size"]
    )
    describe = [
        f"posterior {posterior['prior']} prior scale={scale:.6g} seed={seed}"
        + (f" from {path}" if path else "")
        for path in starts
    ]
    log(
        f"{k} posterior(s): layers {training['layer_sizes']} on {setup.device} "
        f"({training['dtype']}); {n_train} training and {len(setup.test_data)} test examples"
    )
    noise_seed = posterior_noise_seed(seed, training.get("noise_streams", "per_network"))
    fit = {
        "seed": seed,
        "layer_sizes": list(training["layer_sizes"]),
        "prior": posterior["prior"],
        "prior_scale": scale,
        "batch_size": training["batch_size"],
    }
    options = replace(train_options(training, noise_seed), data_stream=POSTERIOR_DATA_STREAM)
    return fit_and_write(
        setup,
        model,
        objective,
        options,
        describe,
        lambda history, _sampled, _at_mean: posterior_metrics(
            model, history, fit, starts, start_mu
        ),
        _posterior_summary,
        log,
        params_file=POSTERIOR_FILE,
    )
