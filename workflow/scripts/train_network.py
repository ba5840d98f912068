"""Train one network of the sweep and write its parameters and metrics."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.artefacts import NetworkSpec
from efficient_synapses.jobs import run_training
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    run_training(
        [NetworkSpec.from_wildcards(snakemake.wildcards)],
        snakemake.params.training,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dirs=[Path(snakemake.output.metrics).parent],
        log=log,
        threads=snakemake.threads,
    )
