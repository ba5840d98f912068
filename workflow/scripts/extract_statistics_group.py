"""Per-synapse Hessian (empirical Fisher), learning rate and input rate of several trained
networks of one seed, one after another in one process (one PyTorch start-up and one read
of the training set for all of them).

Each network gets exactly what a job of its own would compute: the statistics pass
(``curvature.extract_statistics``) and the exact-Hessian subset, neither of which draws
from a global random state, so a network's numbers do not depend on the others.
Writes for member i ``output.statistics[i]`` (statistics.npz) and ``output.summary[i]``
(summary.json).
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import numpy as np
import torch

from efficient_synapses.curvature import exact_hessian_subset, extract_statistics, load_network
from efficient_synapses.curvature_analysis import fisher_vs_hessian_rows
from efficient_synapses.data import load_mnist
from efficient_synapses.jobs import DTYPES, resolve_device
from efficient_synapses.logs import log_to

GRADIENT_MODES = ("minibatch", "per_datapoint")


def layer_summary(arrays: dict, n_layers: int) -> list[dict]:
    """Per layer: synapses, median σ², silent presynaptic units, zero-gradient synapses."""
    layers = []
    for layer in range(1, n_layers + 1):
        sigma_squared = arrays[f"sigma_squared_layer{layer}"]
        rates = arrays[f"input_rate_layer{layer}"]
        entry = {
            "layer": layer,
            "synapses": int(sigma_squared.size),
            "sigma_squared_median": float(np.median(sigma_squared)),
            "silent_presynaptic_units": int((rates == 0).sum()),
        }
        for mode in GRADIENT_MODES:
            hessian = arrays[f"hessian_{mode}_layer{layer}"]
            entry[f"zero_gradient_synapses_{mode}"] = int((hessian == 0).sum())
        layers.append(entry)
    return layers


def write_npz(path: str, arrays: dict) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.npz")  # savez adds .npz to other names
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def write_json(obj, path: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))
    os.replace(tmp, path)


with log_to(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    seed = int(snakemake.wildcards.seed)
    members = snakemake.params.members
    training, curvature = snakemake.params.training, snakemake.params.curvature
    device, dtype = resolve_device(training["device"]), DTYPES[training["dtype"]]
    started = time.perf_counter()
    data = load_mnist(
        Path(snakemake.input.mnist[0]).parent,
        train=True,
        subset=training.get("train_subset"),
        dtype=dtype,
    )
    log(
        f"{len(members)} network(s) of seed {seed}: {curvature['statistics_epochs']} "
        f"statistics epochs each over {len(data)} images on {device}"
    )
    outputs = zip(
        members,
        snakemake.input.params,
        snakemake.output.statistics,
        snakemake.output.summary,
        strict=True,
    )
    for member, params_path, statistics_path, summary_path in outputs:
        t0 = time.perf_counter()
        wildcards = {**member, "seed": str(seed)}
        model = load_network(params_path, seed=seed, device=device, dtype=dtype)
        describe = "statistics " + " ".join(f"{k}={v}" for k, v in wildcards.items())
        log(f"{describe}: from {params_path}")
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
        arrays = {k: np.asarray(v) for k, v in arrays.items()}
        write_npz(statistics_path, arrays)
        check = fisher_vs_hessian_rows(arrays, {})
        for row in check:
            log(
                f"layer {row['layer']} ({row['gradient']}): Spearman(Fisher, exact Hessian) = "
                f"{row['spearman_r']:.3f} over {row['n_synapses']} synapses, "
                f"median Fisher/exact = {row['median_ratio']:.3g}"
            )
        summary = {
            "wildcards": wildcards,
            "n_train": len(data),
            "statistics_epochs": curvature["statistics_epochs"],
            "batch_size": training["batch_size"],
            "eta_base": training["learning_rate"],
            "device": str(device),
            "wall_seconds": time.perf_counter() - t0,
            "layers": layer_summary(arrays, model.n_layers),
            "fisher_vs_exact_hessian": check,
        }
        write_json(summary, summary_path)
        log(f"done {describe} in {summary['wall_seconds']:.1f}s")
    log(f"{len(members)} network(s) in {time.perf_counter() - started:.1f}s")
