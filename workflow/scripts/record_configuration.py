"""Write the resolved configuration of this run (for the report and for provenance)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

import yaml

from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]) as log:
    text = yaml.safe_dump(dict(snakemake.params.configuration), sort_keys=False)
    Path(snakemake.output[0]).write_text(text)
    log(f"configuration -> {snakemake.output[0]}")
