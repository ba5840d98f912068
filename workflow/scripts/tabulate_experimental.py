"""One long table with every number drawn in Figures 1c, 4d and 6."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    parts = [pd.read_csv(snakemake.input[k]) for k in ("fig1", "fig4", "fig6")]
    table = pd.concat(parts, ignore_index=True)
    table.to_csv(snakemake.output[0], index=False)
    log(f"{len(table)} rows -> {snakemake.output[0]}")
