"""Figure 5 from our networks beside the same panels from the authors' published arrays."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.figures.published import plot_fig5_published
from efficient_synapses.figures.style import run_label
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with log_to(snakemake.log[0]), run_label(variant_label(snakemake.config["training"])):
    plot_fig5_published(
        table=pd.read_csv(snakemake.input.table),
        networks=snakemake.params.networks,
        published_dir=snakemake.input.published,
        layer=snakemake.params.layer,
        gradient=snakemake.params.gradient,
        scatter_points=snakemake.params.scatter_points,
        scatter_seed=snakemake.params.scatter_seed,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
    )
