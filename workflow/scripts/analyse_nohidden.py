"""Appendix 5 numbers: slopes of σ² against η, <x²> and σ²_post with no hidden layer."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import numpy as np
import pandas as pd

from efficient_synapses.curvature_analysis import subsample
from efficient_synapses.logs import log_to
from efficient_synapses.posterior_analysis import load_params, nohidden_rows, weight_sigma

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    posterior = {
        int(seed): weight_sigma(load_params(path), 1)
        for seed, path in zip(p.seeds, snakemake.input.posterior, strict=True)
    }
    rows, arrays = [], {}
    first_seed = min(posterior)
    for k, (meta, path) in enumerate(zip(p.networks, snakemake.input.statistics, strict=True)):
        with np.load(path) as loaded:
            statistics = dict(loaded)
        posterior_sd = posterior[int(meta["seed"])]
        rows += nohidden_rows(statistics, posterior_sd, meta, p.gradient, p.learning_rate)
        if int(meta["seed"]) == first_seed:
            sigma_squared = statistics["sigma_squared_layer1"]
            keep = subsample(sigma_squared.size, p.scatter_points, 0)
            x_squared = np.broadcast_to(statistics["input_sq_layer1"], sigma_squared.shape)
            eta = statistics[f"{p.learning_rate}_{p.gradient}_layer1"]
            arrays |= {
                f"net{k}_sigma_squared": sigma_squared.ravel()[keep],
                f"net{k}_learning_rate": eta.ravel()[keep],
                f"net{k}_input_sq": x_squared.ravel()[keep],
                f"net{k}_posterior_variance": (posterior_sd**2).ravel()[keep],
                f"net{k}_rho": np.array(str(meta["rho"])),
            }
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.table, index=False)
    np.savez_compressed(snakemake.output.arrays, **arrays)
    summary = table.groupby(["quantity", "rho"])[["slope", "analytic_slope", "spearman_r"]]
    log(summary.agg(["mean", "std"]).to_string())
