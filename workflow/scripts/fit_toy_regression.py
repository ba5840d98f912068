"""Appendix 4 figure 1 numbers: toy regression fitted by variational Bayes and the overall cost."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import rho_text, rho_value, write_npz
from efficient_synapses.logs import log_to
from efficient_synapses.posterior.toy_regression import fit_toy_models

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    rows, arrays = fit_toy_models(
        p.settings,
        rhos=[rho_text(r) for r in p.rho],
        rho_values=[rho_value(r) for r in p.rho],
        prior=p.prior,
        prior_scale=p.prior_scale,
        magnitude_lambda=p.magnitude_lambda,
        log=log,
    )
    write_npz(snakemake.output.arrays, arrays)
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.table, index=False)
    log(table.to_string())
