"""Figure 4: draw the computed schematic from saved numbers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import numpy as np

from efficient_synapses.figures.schematic import plot_fig4
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    with np.load(snakemake.input[0]) as arrays:
        plot_fig4(dict(arrays), snakemake.output.pdf, snakemake.output.png)
