"""The ELBO bound, numerically: C_BI ≥ C_VI for every trained network (Eq. 41-53)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import all_weight_sigmas, load_params
from efficient_synapses.logs import log_to
from efficient_synapses.posterior.comparison import bound_rows

with log_to(snakemake.log[0]) as log:
    rows = []
    for meta, path in zip(snakemake.params.networks, snakemake.input, strict=True):
        rows += bound_rows(all_weight_sigmas(load_params(path)), meta)
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output[0], index=False)
    own = table[table["own_rho"]]
    log(f"{len(own)} networks; bound holds for {int(own['bound_holds'].sum())}")
    log(table.groupby(["stage", "rho", "rho_evaluated"])["mean_gap"].mean().to_string())
