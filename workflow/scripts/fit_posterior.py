"""Variational posterior (Bayes by backprop) of one architecture and seed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.jobs import run_posterior_fit
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    run_posterior_fit(
        seed=int(snakemake.wildcards.seed),
        training=snakemake.params.training,
        posterior=snakemake.params.posterior,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dir=Path(snakemake.output.posterior).parent,
        log=log,
        threads=snakemake.threads,
    )
