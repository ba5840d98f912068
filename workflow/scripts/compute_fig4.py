"""Figure 4: homogeneous vs optimised (Eq. 29) heterogeneous noise at equal reliability cost."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import write_npz
from efficient_synapses.experimental.schematic import figure4_data
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    rows, arrays = figure4_data()
    log(
        f"sigma (Eq. 29) = {arrays['sigma_heterogeneous']}, "
        f"numerical minimum = {arrays['sigma_heterogeneous_numerical']}"
    )
    write_npz(snakemake.output.arrays, arrays, compressed=False)
    table = pd.DataFrame(rows)
    table.to_csv(snakemake.output.costs, index=False)
    for row in table.itertuples():
        log(f"{row.dataset}: {row.quantity} = {row.value:.6f}")
