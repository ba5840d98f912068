"""Figure 2: accuracy and mean sigma against c."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.data.published import compared_fig23_table
from efficient_synapses.figures.style import run_label
from efficient_synapses.figures.tradeoff import plot_fig2
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with log_to(snakemake.log[0]), run_label(variant_label(snakemake.config["training"])):
    # the authors' curves beside ours; no input unless published.compare
    published = compared_fig23_table(snakemake.input.published, snakemake.params.log10_c)
    plot_fig2(
        pd.read_csv(snakemake.input.table),
        snakemake.output.pdf,
        snakemake.output.png,
        published=published,
    )
