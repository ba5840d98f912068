"""Figure 1: binomial PSP distributions and the four reliability-cost exponents, fitted."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import write_npz
from efficient_synapses.experimental.quantal import figure1_data
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    rows, arrays = figure1_data()
    write_npz(snakemake.output.arrays, arrays, compressed=False)
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.exponents, index=False)
    for row in table.itertuples():
        log(f"{row.quantity}: {row.value:.6f} ({row.notes})")
