"""Per network: accuracy, σ, epochs to convergence, equilibrium, cost vs the trivial network."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.histories import markdown_table, slice_table

with log_to(snakemake.log[0]) as log:
    table = slice_table(snakemake.input)
    table.to_csv(snakemake.output[0], index=False)
    log(markdown_table(table))
