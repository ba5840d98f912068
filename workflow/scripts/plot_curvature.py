"""Figure 5 and Appendix 6 figures 1-2: σ² against Hessian, learning rate and input rate."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.figures.style import run_label
from efficient_synapses.figures.synapses import plot_synapse_patterns
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with log_to(snakemake.log[0]), run_label(variant_label(snakemake.config["training"])):
    plot_synapse_patterns(
        table=pd.read_csv(snakemake.input.table),
        networks=snakemake.params.networks,
        blocks=snakemake.params.blocks,
        gradient=snakemake.params.gradient,
        scatter_points=snakemake.params.scatter_points,
        scatter_seed=snakemake.params.scatter_seed,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
        learning_rate=snakemake.params.learning_rate,
    )
