"""Per-epoch history of every Figure 2/3 network, one row per (network, epoch)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.histories import history_table

with log_to(snakemake.log[0]) as log:
    table = history_table(snakemake.input)
    table.to_csv(snakemake.output[0], index=False)
    log(f"{len(table)} network-epochs -> {snakemake.output[0]}")
