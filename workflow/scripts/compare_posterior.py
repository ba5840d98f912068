"""Figure 7 numbers: optimised σ² against the variational posterior variance, per synapse."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import numpy as np
import pandas as pd

from efficient_synapses.curvature import load_network
from efficient_synapses.data import load_mnist
from efficient_synapses.logs import log_to
from efficient_synapses.posterior_analysis import figure7_data, load_params, presynaptic_rate

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    inputs = load_mnist(
        Path(snakemake.input.mnist[0]).parent, train=True, subset=p.train_subset
    ).inputs
    networks = [
        {**meta, "params": load_params(path)}
        for meta, path in zip(p.networks, snakemake.input.params, strict=True)
    ]
    posterior = {
        int(seed): load_params(path)
        for seed, path in zip(p.seeds, snakemake.input.posterior, strict=True)
    }
    rates = [
        presynaptic_rate(load_network(path), inputs, p.layer) for path in snakemake.input.params
    ]
    rows, arrays = figure7_data(networks, posterior, rates, p.layer, p.scatter_points)
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.table, index=False)
    np.savez_compressed(snakemake.output.arrays, **arrays)
    summary = table.groupby(["rho", "c_factor"])[["slope", "spearman_r", "analytic_slope"]]
    log(summary.agg(["mean", "std"]).to_string())
