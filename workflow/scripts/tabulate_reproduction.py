"""The reproduction table: our Figures 2, 3 and 5 numbers beside the published ones."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import pandas as pd

from efficient_synapses.artefacts import atomic_write, read_npz
from efficient_synapses.data.published import fig5_table, fig5_unit_summary, fig23_table
from efficient_synapses.logs import log_to
from efficient_synapses.reproduction.table import (
    drift_rows,
    fig5_rows,
    fig23_rows,
    reproduction_markdown,
    reproduction_table,
    run_settings,
    unit_summary,
)

with log_to(snakemake.log[0]) as log:
    cfg = snakemake.params.config
    settings = run_settings(cfg)
    tolerance = cfg["published"]["tolerance"]
    published_dir = snakemake.input.published
    grid = cfg["published"]["log10_c"]
    rows = []
    if "training" in snakemake.input.keys():
        published = fig23_table(published_dir, grid)
        rows += fig23_rows(pd.read_csv(snakemake.input.training), published, settings, tolerance)
    if "curvature" in snakemake.input.keys():
        ours = pd.read_csv(snakemake.input.curvature)
        rows += fig5_rows(ours, fig5_table(published_dir), settings, tolerance)
        units = [
            {"rho": str(n["rho"]), "seed": n["seed"], **row}
            for n in snakemake.params.statistics
            for row in unit_summary(read_npz(n["path"]))
        ]
        rows += drift_rows(pd.DataFrame(units), fig5_unit_summary(published_dir), settings)
    table = reproduction_table(rows)
    note = (
        f"Published c of column pair j: 10^({grid['start']:g} + {grid['step']:g} j), "
        f"j = 0..{grid['count'] - 1} (published.log10_c; docs/reproduction.md)."
    )
    atomic_write(snakemake.output.csv, lambda tmp: table.to_csv(tmp, index=False))
    text = reproduction_markdown(table, note)
    atomic_write(snakemake.output.md, lambda tmp: tmp.write_text(text))
    log(f"{len(table)} rows; variant {settings['variant']}")
