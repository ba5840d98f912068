"""Figure 7 numbers: per synapse of one layer of each Fig. 7 network, the paper's σ²_post
= 1/H and Eq. 29's σ² from the network's own statistics, its learnt σ², and the variance
of the variational posterior fitted from its means."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import (
    load_params,
    read_metrics,
    read_npz,
    weight_sigma,
    write_npz,
)
from efficient_synapses.logs import log_to
from efficient_synapses.posterior.comparison import figure7_data

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    networks, statistics, vi_sd = [], [], []
    for meta, stats_path, metrics_path, posterior_path, fit_path in zip(
        p.networks,
        snakemake.input.statistics,
        snakemake.input.metrics,
        snakemake.input.posterior,
        snakemake.input.fit_metrics,
        strict=True,
    ):
        metrics, fit = read_metrics(metrics_path), read_metrics(fit_path)
        change = fit.get("mu_relative_change") or [float("nan")] * p.layer
        networks.append(
            {
                **meta,
                # Training marks a network whose loss left the finite range.
                "diverged": bool(metrics.get("diverged", False)),
                # The basin check of the variational fit started from this network's μ:
                # how far its μ moved in the compared layer, and both accuracies at μ.
                "fit_mu_relative_change": change[p.layer - 1],
                "fit_test_accuracy_mean_weights": fit["test_accuracy_mean_weights"],
                "network_test_accuracy_mean_weights": metrics["test_accuracy_mean_weights"],
            }
        )
        statistics.append(read_npz(stats_path))
        vi_sd.append(weight_sigma(load_params(posterior_path), p.layer))
    rows, arrays = figure7_data(
        networks,
        statistics,
        vi_sd,
        p.layer,
        p.gradient,
        p.scatter_points,
        # The rule may set the seed of the scatter subsample; 0 otherwise.
        scatter_seed=int(p.scatter_seed),
        resamples=int(p.bootstrap_resamples),
        bootstrap_seed=int(p.bootstrap_seed),
    )
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.table, index=False)
    write_npz(snakemake.output.arrays, arrays)
    summary = table.groupby(["comparison", "rho", "c_factor"])[["slope", "spearman_r"]]
    log(summary.agg(["mean", "std"]).to_string())
