"""Figure 7: optimised synaptic variability against the variational posterior."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import read_npz
from efficient_synapses.figures.posterior import plot_figure7
from efficient_synapses.figures.style import run_label
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with log_to(snakemake.log[0]), run_label(variant_label(snakemake.config["training"])):
    arrays = read_npz(snakemake.input.arrays)
    plot_figure7(
        arrays,
        pd.read_csv(snakemake.input.table),
        snakemake.output.pdf,
        snakemake.output.png,
    )
