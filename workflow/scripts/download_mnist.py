"""Fetch MNIST (mirror, then torchvision's mirrors) and verify the md5 of each raw file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.data.raw import fetch_mnist
from efficient_synapses.logs import log_to

with log_to(snakemake.log[0]):
    fetch_mnist(snakemake.params.mirror, snakemake.params.out_dir, log=sys.stdout)
