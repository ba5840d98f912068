"""Per-synapse Hessian (empirical Fisher), learning rate and input rate of one trained network."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import torch

from efficient_synapses.artefacts import NetworkSpec, write_json, write_npz
from efficient_synapses.curvature import (
    exact_hessian_subset,
    extract_statistics,
    layer_summary,
    load_network,
)
from efficient_synapses.curvature_analysis import fisher_vs_hessian_rows
from efficient_synapses.data import load_mnist
from efficient_synapses.jobs import DTYPES, resolve_device
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    w = snakemake.wildcards
    training, curvature = snakemake.params.training, snakemake.params.curvature
    device, dtype = resolve_device(training["device"]), DTYPES[training["dtype"]]
    started = time.perf_counter()
    data = load_mnist(
        Path(snakemake.input.mnist[0]).parent,
        train=True,
        subset=training.get("train_subset"),
        dtype=dtype,
    )
    model = load_network(snakemake.input.params, seed=int(w.seed), device=device, dtype=dtype)
    describe = f"statistics {NetworkSpec.from_wildcards(w).describe()}"
    log(f"{describe}: {curvature['statistics_epochs']} epochs over {len(data)} images on {device}")
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
        seed=int(w.seed),
        log=log,
    )
    write_npz(snakemake.output.statistics, arrays)
    layers = layer_summary(arrays)
    check = fisher_vs_hessian_rows(arrays, {})
    for row in check:
        log(
            f"layer {row['layer']} ({row['gradient']}): Spearman(Fisher, exact Hessian) = "
            f"{row['spearman_r']:.3f} over {row['n_synapses']} synapses, "
            f"median Fisher/exact = {row['median_ratio']:.3g}"
        )
    summary = {
        "wildcards": dict(w.items()),
        "n_train": len(data),
        "statistics_epochs": curvature["statistics_epochs"],
        "batch_size": training["batch_size"],
        "eta_base": training["learning_rate"],
        "device": str(device),
        "wall_seconds": time.perf_counter() - started,
        "layers": layers,
        "fisher_vs_exact_hessian": check,
    }
    write_json(summary, snakemake.output.summary)
    log(f"done in {summary['wall_seconds']:.1f}s")
