"""Appendix 5 figure 1: no hidden layer, simulated against analytic and experimental slopes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import read_npz
from efficient_synapses.experimental.analysis import ko_slope_for_appendix5
from efficient_synapses.figures.posterior import plot_figure_a5
from efficient_synapses.figures.style import run_label
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label

with (
    log_to(snakemake.log[0]) as log,
    run_label(variant_label(snakemake.config["training"])),
):
    experimental = ko_slope_for_appendix5(pd.read_csv(snakemake.input.experimental))
    log(f"experimental reference slope (Ko et al., log CV on log rate): {experimental:.3f}")
    arrays = read_npz(snakemake.input.arrays)
    plot_figure_a5(
        arrays,
        pd.read_csv(snakemake.input.table),
        snakemake.output.pdf,
        snakemake.output.png,
        experimental_slope=experimental,
    )
