"""One row per trained network: the table behind Figures 2 and 3."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.logs import log_to
from efficient_synapses.training.tables import training_table

with log_to(snakemake.log[0]) as log:
    table = training_table(snakemake.input)
    table.to_csv(snakemake.output[0], index=False)
    log(f"{len(table)} networks -> {snakemake.output[0]}")
    diverged = table[table["diverged"]]
    for row in diverged.itertuples():
        log(
            f"DIVERGED noise={row.noise} rho={row.rho} c={row.c:.6g} seed={row.seed} in epoch "
            f"{row.diverged_epoch}: its row holds the values of its frozen parameters"
        )
    log(f"{len(diverged)} of {len(table)} networks diverged")
