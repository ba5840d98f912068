"""fisher_vs_hessian.csv: rank correlation of the empirical Fisher and the exact Hessian."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.logs import log_to
from efficient_synapses.synapses.tables import fisher_vs_hessian_table

with log_to(snakemake.log[0]) as log:
    table = fisher_vs_hessian_table(snakemake.params.networks)
    table.to_csv(snakemake.output[0], index=False)
    log(f"{len(table)} rows -> {snakemake.output[0]}")
    summary = table.groupby(["layer", "gradient"])[["spearman_r", "median_ratio"]].agg(
        ["mean", "min", "max"]
    )
    log(summary.to_string())
