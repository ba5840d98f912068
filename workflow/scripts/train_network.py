"""Train one network of the sweep, or the networks listed in params.members together
(vectorised, one process), and write each one's parameters and metrics."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.artefacts import NetworkSpec
from efficient_synapses.logs import log_to
from efficient_synapses.training.jobs import run_training

with log_to(snakemake.log[0]) as log:
    members = snakemake.params.get("members") or [dict(snakemake.wildcards.items())]
    metrics = snakemake.output.metrics
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    run_training(
        [NetworkSpec.from_wildcards(m) for m in members],
        snakemake.params.training,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dirs=[Path(path).parent for path in metrics],  # in the order of members
        log=log,
        threads=snakemake.threads,
    )
