"""Figure 6: draw the experimental data, fits and intervals from saved numbers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import read_npz
from efficient_synapses.figures.experimental import plot_fig6
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    statistics = pd.read_csv(snakemake.input.statistics)
    arrays = read_npz(snakemake.input.arrays)
    plot_fig6(
        arrays,
        statistics,
        snakemake.output.pdf,
        snakemake.output.png,
        paper_slope=float(snakemake.params.ko_paper_slope),
    )
