"""Appendix 5 numbers: slopes of σ² against η, <x²> and σ²_post with no hidden layer."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import load_params, read_npz, weight_sigma, write_npz
from efficient_synapses.logs import log_to
from efficient_synapses.posterior.comparison import nohidden_data

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    posterior_sd = {
        int(seed): weight_sigma(load_params(path), 1)
        for seed, path in zip(p.seeds, snakemake.input.posterior, strict=True)
    }
    rows, arrays = nohidden_data(
        p.networks,
        [read_npz(path) for path in snakemake.input.statistics],
        posterior_sd,
        p.gradient,
        p.learning_rate,
        p.scatter_points,
        # The rule may set the seed of the scatter subsample; 0 otherwise.
        scatter_seed=int(p.scatter_seed),
    )
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.table, index=False)
    write_npz(snakemake.output.arrays, arrays)
    summary = table.groupby(["quantity", "rho"])[["slope", "analytic_slope", "spearman_r"]]
    log(summary.agg(["mean", "std"]).to_string())
