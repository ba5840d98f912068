"""Train a group of sweep networks together and write each network's parameters and metrics."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.jobs import NetworkSpec, run_training
from efficient_synapses.labels import parse_rho
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    members = snakemake.params.members
    specs = [
        NetworkSpec(m["noise"], str(parse_rho(m["rho"])), float(m["c"]), int(m["seed"]))
        for m in members
    ]
    run_training(
        specs,
        snakemake.params.training,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dirs=[Path(p).parent for p in snakemake.output.metrics],
        log=log,
        threads=snakemake.threads,
    )
