"""Evaluate every configured claim of the paper and write the claims table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.claims import all_claims, claims_markdown, claims_table
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    tables = {name: pd.read_csv(path) for name, path in snakemake.input.items()}
    results = all_claims(tables, snakemake.params.criteria, snakemake.params.gradient)
    table = claims_table(results)
    table.to_csv(snakemake.output.csv, index=False)
    Path(snakemake.output.md).write_text(claims_markdown(table))
    failing = table[table["verdict"] != "pass"]
    log(f"{len(table)} claims evaluated, {len(failing)} failing")
    for row in failing.itertuples():
        log(f"FAIL: {row.statement} [{row.scope}]: {row.quantity} = {row.value:.4g}")
