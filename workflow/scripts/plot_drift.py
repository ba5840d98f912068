"""Silent units, live and silent-touching RMS σ and test accuracy against the epoch."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.figures.drift import plot_drift
from efficient_synapses.figures.style import run_label
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with log_to(snakemake.log[0]), run_label(variant_label(snakemake.config["training"])):
    plot_drift(pd.read_csv(snakemake.input[0]), snakemake.output.pdf, snakemake.output.png)
