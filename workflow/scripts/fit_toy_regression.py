"""Appendix 4 figure 1 numbers: toy regression fitted by variational Bayes and the overall cost."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import numpy as np
import pandas as pd

from efficient_synapses.labels import parse_rho
from efficient_synapses.logs import log_to
from efficient_synapses.toy_regression import fit_toy_models

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    rows, arrays = fit_toy_models(
        p.settings,
        rhos=[str(parse_rho(r)) for r in p.rho],
        rho_values=[float(parse_rho(r)) for r in p.rho],
        prior=p.prior,
        prior_scale=p.prior_scale,
        magnitude_lambda=p.magnitude_lambda,
        log=log,
    )
    np.savez_compressed(snakemake.output.arrays, **arrays)
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.table, index=False)
    log(table.to_string())
