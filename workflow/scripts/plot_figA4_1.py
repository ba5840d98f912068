"""Appendix 4 figure 1: predictive distributions of variational Bayes and the overall cost."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package


from efficient_synapses.artefacts import read_npz
from efficient_synapses.figures.toy import plot_toy_regression
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    arrays = read_npz(snakemake.input[0])
    plot_toy_regression(arrays, snakemake.output.pdf, snakemake.output.png)
