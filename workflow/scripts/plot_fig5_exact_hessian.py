"""Figure 5 with the exact Hessian diagonal beside the empirical Fisher, and its table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.figures.exact_hessian import plot_exact_hessian
from efficient_synapses.figures.style import run_label
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import variant_label
from efficient_synapses.synapses.exact_hessian import exact_hessian_table

with (
    log_to(snakemake.log[0]) as log,
    run_label(variant_label(snakemake.config["training"])),
):
    table = exact_hessian_table(snakemake.params.networks, snakemake.params.gradient)
    table.to_csv(snakemake.output.table, index=False)
    log(f"{len(table)} rows -> {snakemake.output.table}")
    columns = ["rho", "layer", "estimate", "spearman_r", "slope", "n_used", "n_excluded"]
    log(table[columns].to_string(index=False))
    plot_exact_hessian(
        table,
        snakemake.params.figure_networks,
        layer=snakemake.params.layer,
        gradient=snakemake.params.gradient,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
    )
