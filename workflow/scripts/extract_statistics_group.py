"""Per-synapse Hessian (empirical Fisher), learning rate and input rate of several trained
networks of one seed, one after another in one process (one PyTorch start-up and one read
of the training set for all of them).

Each network gets exactly what a job of its own would compute: the statistics pass
(``curvature.extract_statistics``) and the exact-Hessian subset, neither of which draws
from a global random state, so a network's numbers do not depend on the others.
Writes for member i ``output.statistics[i]`` (statistics.npz) and ``output.summary[i]``
(summary.json).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import torch

from efficient_synapses.artefacts import write_json, write_npz
from efficient_synapses.data.raw import load_mnist
from efficient_synapses.logs import log_to
from efficient_synapses.synapses.extract import layer_summary, load_network, network_statistics
from efficient_synapses.synapses.tables import fisher_vs_hessian_rows
from efficient_synapses.training.engine import resolve_device
from efficient_synapses.training.jobs import DTYPES

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
        arrays = network_statistics(model, data, training, curvature, seed, log, describe)
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
            "layers": layer_summary(arrays),
            "fisher_vs_exact_hessian": check,
        }
        write_json(summary, summary_path)
        log(f"done {describe} in {summary['wall_seconds']:.1f}s")
    log(f"{len(members)} network(s) in {time.perf_counter() - started:.1f}s")
