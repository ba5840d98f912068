"""Fetch one Figure 6 CSV (mirror, then its pinned URL) and verify its sha256."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.data.raw import EXPERIMENTAL_FILES, fetch_experimental
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    key = snakemake.wildcards.dataset
    if key not in EXPERIMENTAL_FILES:
        raise ValueError(
            f"unknown experimental dataset {key!r}; expected one of {list(EXPERIMENTAL_FILES)}"
        )
    fetch_experimental(key, snakemake.params.mirror, snakemake.output[0], log=sys.stdout)
