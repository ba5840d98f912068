"""curvature.csv: Spearman r and log-log slope of σ² against Hessian, learning and input rate."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.logs import log_to
from efficient_synapses.synapses.tables import curvature_table

with log_to(snakemake.log[0]) as log:
    table = curvature_table(snakemake.params.networks)
    table.to_csv(snakemake.output[0], index=False)
    log(
        f"{len(table)} rows from {len(snakemake.params.networks)} networks -> {snakemake.output[0]}"
    )
    summary = table.groupby(["layer", "gradient", "quantity", "rho", "c_factor"], sort=False)[
        "spearman_r"
    ].agg(["mean", "min", "max", "count"])
    log(summary.to_string())
