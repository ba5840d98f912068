"""Variational posteriors (Bayes by backprop): from a seed's initialisation (no hidden
layer, Appendix 5) or from the means of trained networks (Fig. 7), as one group."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.artefacts import network_of_path
from efficient_synapses.logs import log_to
from efficient_synapses.training.jobs import run_posterior_fit

with log_to(snakemake.log[0]) as log:
    # A named input or output of one file is a string, of several a list.
    outputs = snakemake.output.posterior
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    start_from = snakemake.input.get("start_from")
    start_from = [start_from] if isinstance(start_from, str) else start_from
    # Each posterior must start from its own network: the same ρ, c and seed in the trained
    # network's path and in the output's.
    for start, out in zip(start_from or [], outputs if start_from else [], strict=True):
        named = {k: v for k, v in network_of_path(start).items() if k != "noise"}
        if named != network_of_path(out):
            raise ValueError(f"the posterior {out} would start from another network: {start}")
    run_posterior_fit(
        seed=int(snakemake.wildcards.seed),
        training=snakemake.params.training,
        posterior=snakemake.params.posterior,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dirs=[Path(path).parent for path in outputs],
        log=log,
        threads=snakemake.threads,
        start_from=None if start_from is None else list(start_from),
    )
