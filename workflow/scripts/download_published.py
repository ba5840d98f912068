"""Fetch the published arrays of Figures 2, 3 and 5 (mirror, then pinned URLs), sha256 checked."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.data.raw import fetch_published
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    fetch_published(snakemake.params.mirror, snakemake.output[0], log=sys.stdout)
