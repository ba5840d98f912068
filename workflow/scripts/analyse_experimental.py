"""Figure 6 statistics: parse and validate the three CSVs, bootstrap the correlations and slopes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package


from efficient_synapses.artefacts import write_npz
from efficient_synapses.data.experimental_csv import (
    EXPECTED_ROWS,
    exclusions_frame,
    parse_experimental_csv,
)
from efficient_synapses.experimental.analysis import analyse_figure6
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    tables = {}
    for key, dataset in (
        ("ltp", "sjostrom2001_ltp"),
        ("ltd", "sjostrom2001_ltd"),
        ("ko", "ko2013"),
    ):
        # A wrong header raises HeaderError naming the missing columns, failing the rule.
        parsed = parse_experimental_csv(snakemake.input[key], dataset)
        log(
            f"{snakemake.input[key]}: {len(parsed.rows)} valid rows, "
            f"{len(parsed.excluded)} excluded (published: {EXPECTED_ROWS[dataset]} rows)"
        )
        for e in parsed.excluded:
            log(f"  EXCLUDED {e.file} line {e.line}: {e.reason}")
        tables[dataset] = parsed
    excluded = exclusions_frame([e for t in tables.values() for e in t.excluded])
    excluded.to_csv(snakemake.output.excluded, index=False)

    p = snakemake.params
    statistics, arrays = analyse_figure6(
        tables,
        resamples=int(p.resamples),
        seed=int(p.seed),
        confidence=float(p.confidence),
        ko_normalisation=str(p.ko_normalisation),
        paper_slope=float(p.ko_paper_slope),
    )
    statistics.to_csv(snakemake.output.statistics, index=False)
    write_npz(snakemake.output.arrays, arrays, compressed=False)
    for row in statistics.itertuples():
        interval = f"[{row.ci_low:.4f}, {row.ci_high:.4f}]"
        log(f"{row.dataset:18s} {row.quantity:34s} {row.value:9.4f} {interval}")
