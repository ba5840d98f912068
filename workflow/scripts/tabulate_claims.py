"""Evaluate every row of the claims table (claims, sanity checks, reported comparisons)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.claims import (
    PAPER,
    SANITY,
    all_claims,
    claims_markdown,
    claims_table,
    independent_claims,
)
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    tables = {name: pd.read_csv(path) for name, path in snakemake.input.items()}
    results = all_claims(tables, snakemake.params.criteria, snakemake.params.gradient)
    table = claims_table(results)
    table.to_csv(snakemake.output.csv, index=False)
    Path(snakemake.output.md).write_text(claims_markdown(table))
    groups = independent_claims(table)
    log(f"independent claims: {int(groups['passed'].sum())} of {len(groups)} pass")
    for kind in table["kind"].unique():
        rows = table[table["kind"] == kind]
        log(f"{kind}: {len(rows)} rows, verdicts {rows['verdict'].value_counts().to_dict()}")
    for row in table[table["kind"].isin([PAPER, SANITY])].itertuples():
        if row.verdict in ("FAIL", "BROKEN"):
            log(f"{row.verdict}: {row.statement} [{row.scope}]: {row.quantity} = {row.value:.4g}")
