"""Figure 4: draw the computed schematic from saved numbers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package


from efficient_synapses.artefacts import read_npz
from efficient_synapses.figures.schematic import plot_fig4
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    arrays = read_npz(snakemake.input[0])
    plot_fig4(arrays, snakemake.output.pdf, snakemake.output.png)
