# Shared set-up: config validation, wildcard constraints and target lists.
#
# Path scheme (every stage writes under results/, figures under figures/):
#   results/data/mnist/MNIST/raw/<idx file>               verified MNIST
#   results/data/experimental/<name>.csv                  verified Figure 6 data
#   results/train/{noise}/rho{rho}/c{c}/seed{seed}/       one trained network:
#       params.pt (mu, sigma per layer), metrics.json
#   results/tables/training.csv                           one row per network
#   results/logs/<rule>/...                                one log per job
#   figures/<figure>.pdf, figures/<figure>.png
#
# {rho} is a path label of a fraction (1/2 -> "1_2", 2 -> "2"); {c} is c written
# with 6 significant digits.

import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from efficient_synapses.config import check_config, sweep_groups, sweep_networks  # noqa: E402
from efficient_synapses.data import EXPERIMENTAL_FILES, MNIST_RAW_MD5  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml")
check_config(config)


wildcard_constraints:
    noise="heterogeneous|homogeneous",
    rho=r"[0-9]+(\.[0-9]+)?(_[1-9][0-9]*)?",
    c=r"[0-9][0-9.e+-]*",
    seed=r"[0-9]+",


TRAIN_DIR = "results/train/{noise}/rho{rho}/c{c}/seed{seed}"
MNIST_RAW = "results/data/mnist/MNIST/raw"


def mirror_path(*parts):
    """A path inside the configured data mirror, or None without a mirror."""
    mirror = config["data"]["mirror"]
    return None if mirror is None else str(Path(mirror, *parts))


def sweep_metrics():
    """metrics.json of every network of the Figure 2/3 sweep."""
    return [f"{TRAIN_DIR}/metrics.json".format(**w) for w in sweep_networks(config)]


def figure_files(name):
    return [f"figures/{name}.pdf", f"figures/{name}.png"]


def all_targets():
    return [
        "results/tables/training.csv",
        *figure_files("fig2"),
        *figure_files("fig3"),
    ]
