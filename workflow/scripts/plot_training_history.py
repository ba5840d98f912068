"""RMS σ and sampled test accuracy of every Figure 2/3 network against the epoch."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.figures.style import run_label
from efficient_synapses.figures.tradeoff import plot_training_history
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with log_to(snakemake.log[0]), run_label(variant_label(snakemake.config["training"])):
    plot_training_history(
        pd.read_csv(snakemake.input[0]), snakemake.output.pdf, snakemake.output.png
    )
