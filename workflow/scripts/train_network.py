"""Train one network of the sweep and write its parameters and metrics."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.jobs import NetworkSpec, run_training
from efficient_synapses.labels import parse_rho
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    w = snakemake.wildcards
    rho = parse_rho(w.rho)
    spec = NetworkSpec(noise=w.noise, rho=str(rho), c=float(w.c), seed=int(w.seed))
    run_training(
        [spec],
        snakemake.params.training,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dirs=[Path(snakemake.output.metrics).parent],
        log=log,
        threads=snakemake.threads,
    )
