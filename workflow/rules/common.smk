# Shared set-up: config validation, wildcard constraints, paths and target lists.
#
# Path scheme (every stage writes under results/, figures under figures/):
#   results/data/mnist/MNIST/raw/<idx file>                  verified MNIST
#   results/data/experimental/<name>.csv                     verified Figure 6 data
#   results/train/{noise}/rho{rho}/c{c}/seed{seed}/          one trained 784-100-100-10
#       network: params.pt (μ, σ per layer), metrics.json
#   results/curvature/{noise}/rho{rho}/c{c}/seed{seed}/      its synapse statistics
#   results/nohidden/{train,curvature}/...                   the same for the 784-10 network
#   results/posterior/{arch}/seed{seed}/                     variational posterior
#       (arch: mlp or nohidden): posterior.pt, metrics.json
#   results/tables/*.csv                                     tables behind the figures
#   results/claims.csv, results/claims.md                    the claims table
#   results/logs/<rule>/...                                  one log per job
#   figures/<figure>.pdf, figures/<figure>.png
#
# {rho} is a path label of a fraction (1/2 -> "1_2", 2 -> "2"); {c} is c written
# with 6 significant digits.

import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from efficient_synapses.config import (  # noqa: E402
    check_config,
    curvature_networks,
    nohidden_networks,
    posterior_networks,
    prior_scale,
    selected_targets,
    sweep_networks,
    training_groups,
)
from efficient_synapses.data import EXPERIMENTAL_FILES, MNIST_RAW_MD5  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml")
check_config(config)


wildcard_constraints:
    noise="heterogeneous|homogeneous",
    rho=r"[0-9]+(\.[0-9]+)?(_[1-9][0-9]*)?",
    c=r"[0-9][0-9.e+-]*",
    seed=r"[0-9]+",
    arch="mlp|nohidden",


MNIST_RAW = "results/data/mnist/MNIST/raw"
TRAIN_DIR = "results/train/{noise}/rho{rho}/c{c}/seed{seed}"
CURVATURE_DIR = "results/curvature/{noise}/rho{rho}/c{c}/seed{seed}"
NOHIDDEN_TRAIN_DIR = "results/nohidden/train/{noise}/rho{rho}/c{c}/seed{seed}"
NOHIDDEN_CURVATURE_DIR = "results/nohidden/curvature/{noise}/rho{rho}/c{c}/seed{seed}"
POSTERIOR_DIR = "results/posterior/{arch}/seed{seed}"

SEEDS = config["sweep"]["seeds"]
CURVATURE = config["curvature"]
POSTERIOR = config["posterior"]
ARCHITECTURES = {
    "mlp": config["training"]["layer_sizes"],
    "nohidden": config["nohidden"]["layer_sizes"],
}
# Settings of `training` that a training job uses (the group size only shapes jobs).
TRAINING_PARAMS = {k: v for k, v in config["training"].items() if k != "group_size"}
# Settings of `curvature` that the extraction uses, so that plotting settings do not
# re-run it.
CURVATURE_EXTRACTION = {
    key: CURVATURE[key]
    for key in (
        "statistics_epochs",
        "exact_hessian_layers",
        "exact_hessian_max_synapses",
        "exact_hessian_examples",
    )
}

# The networks of each stage beyond the Figure 2/3 sweep (efficient_synapses.config).
CURVATURE_NETWORKS = curvature_networks(config)
FIG7_NETWORKS = posterior_networks(config)
NOHIDDEN_NETWORKS = nohidden_networks(config)
# Networks whose σ the bound table evaluates, with the stage they belong to.
BOUND_NETWORKS = [
    n | {"stage": stage, "params_path": f"{directory}/params.pt".format(**n["wildcards"])}
    for stage, directory, networks in (
        ("curvature", TRAIN_DIR, CURVATURE_NETWORKS),
        ("posterior", TRAIN_DIR, FIG7_NETWORKS),
        ("nohidden", NOHIDDEN_TRAIN_DIR, NOHIDDEN_NETWORKS),
    )
    for n in networks
]


def table_columns(network):
    """The identifying columns of a network in the tables (no paths, no wildcards)."""
    return {
        key: network[key] for key in ("noise", "rho", "rho_value", "c_factor", "c", "seed")
    }


def curvature_statistics(c_factors=None, seeds=None):
    """Identifying columns and statistics path of networks of the curvature stage."""
    return [
        table_columns(n) | {"path": f"{CURVATURE_DIR}/statistics.npz".format(**n["wildcards"])}
        for n in curvature_networks(config, c_factors, seeds)
    ]


def figure_networks(c_factors):
    """The networks drawn as scatter points: first seed, the given c factors."""
    return curvature_statistics(c_factors, SEEDS[:1])


def mirror_path(*parts):
    """A path inside the configured data mirror, or None without a mirror."""
    mirror = config["data"]["mirror"]
    return None if mirror is None else str(Path(mirror, *parts))


def sweep_metrics():
    """metrics.json of every network of the Figure 2/3 sweep."""
    return [f"{TRAIN_DIR}/metrics.json".format(**w) for w in sweep_networks(config)]


def figure_files(name):
    return [f"figures/{name}.pdf", f"figures/{name}.png"]


# Figure layouts of the curvature stage: blocks of three rows (Hessian, learning rate,
# input rate), each block one (layer, c factor). Fig. 5: hidden-to-hidden synapses
# (layer 2); Appendix 6 fig. 1: layers 1 and 3; Appendix 6 fig. 2: layer 2 at the
# other c factors (x10 and /10 in the paper).
CURVATURE_FIGURES = {
    "fig5": {"blocks": [[2, 1]], "category": "Figure 5"},
    "figA6_1": {"blocks": [[1, 1], [3, 1]], "category": "Appendix 6"},
    "figA6_2": {
        "blocks": [[2, f] for f in sorted(CURVATURE["c_factors"], reverse=True) if f != 1],
        "category": "Appendix 6",
    },
}
CURVATURE_FIGURES = {k: v for k, v in CURVATURE_FIGURES.items() if v["blocks"]}

FIGURES = ["fig1", "fig2", "fig3", "fig4", *CURVATURE_FIGURES, "fig6", "fig7"]
FIGURES += ["figA4_1", "figA5_1"]

TABLES = [
    "results/tables/training.csv",
    "results/tables/experimental.csv",
    "results/tables/curvature.csv",
    "results/tables/fisher_vs_hessian.csv",
    "results/tables/posterior_slopes.csv",
    "results/tables/nohidden_slopes.csv",
    "results/tables/toy_regression.csv",
    "results/tables/elbo_bound.csv",
]


# Files of each target name that config key `targets` may select (null: all of them).
TARGET_FILES = {
    **{name: figure_files(name) for name in FIGURES},
    **{Path(table).stem: [table] for table in TABLES},
    "training_history": [
        "results/tables/training_history.csv",
        *figure_files("training_history"),
    ],
    "paper_slice": ["results/tables/paper_slice.csv"],
    "claims": ["results/claims.csv", "results/claims.md"],
    "configuration": ["results/configuration.yaml"],
}


def all_targets():
    """The files of every selected target; a figure without panels (e.g. figA6_2 with
    no other c factor) is not made and so not listed."""
    return [path for name in selected_targets(config) for path in TARGET_FILES.get(name, [])]
