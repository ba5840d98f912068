# Shared set-up: config validation, wildcard constraints, paths and target lists.
#
# Path scheme (every stage writes under results/, figures under figures/):
#   results/data/mnist/MNIST/raw/<idx file>                  verified MNIST
#   results/data/experimental/<name>.csv                     verified Figure 6 data
#   results/data/published/data-fig{2and3,5}/<name>.npy      the authors' published arrays
#   results/train/{noise}/rho{rho}/c{c}/seed{seed}/          one trained 784-100-100-10
#       network: params.pt (μ, σ per layer), metrics.json (with training.group_size > 1:
#       hard links into results/train_groups/group{group}/, the output of its group's job)
#   results/curvature/{noise}/rho{rho}/c{c}/seed{seed}/      its synapse statistics
#   results/nohidden/{train,curvature}/...                   the same for the 784-10 network
#   results/posterior/{arch}/seed{seed}/                     variational posterior
#       (arch: mlp or nohidden): posterior.pt, metrics.json
#   results/tables/*.csv                                     tables behind the figures
#   results/claims.csv, results/claims.md                    the claims table
#   results/reproduction.csv, results/reproduction.md        ours beside the published data
#   results/logs/<rule>/...                                  one log per job
#   figures/<figure>.pdf, figures/<figure>.png
#
# {rho} is a path label of a fraction (1/2 -> "1_2", 2 -> "2"); {c} is c written
# with 6 significant digits.

import math
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from efficient_synapses.config import (  # noqa: E402
    check_config,
    curvature_networks,
    needs_stage,
    nohidden_networks,
    posterior_networks,
    prior_scale,
    resolve_config,
    selected_targets,
    sweep_networks,
    training_groups,
)
from efficient_synapses.data.raw import EXPERIMENTAL_FILES, MNIST_RAW_MD5  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml")
check_config(config)
# The variant's learning rate and λ where config leaves them null (training.variant), so
# that every job, caption and results/configuration.yaml shows what was trained with.
resolve_config(config)


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
PUBLISHED_DIR = "results/data/published"
PUBLISHED = config["published"]

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


# ---- Jobs that handle several networks, and how long they take

TRAIN_GROUP_DIR = "results/train_groups/group{group}"
# Where a member's files lie inside its group's directory.
GROUP_MEMBER_DIR = "{noise}/rho{rho}/c{c}/seed{seed}"
# Members of each training group (wildcards noise, rho, c, seed), and the group of each
# network; empty with group_size 1.
TRAINING_GROUPS = training_groups(config) if config["training"]["group_size"] > 1 else []
GROUP_OF_NETWORK = {
    tuple(member[k] for k in ("noise", "rho", "c", "seed")): index
    for index, members in enumerate(TRAINING_GROUPS)
    for member in members
}


# Wall-time estimate of a training job (resources.runtime, minutes), from its optimiser
# steps: epochs x floor(n_train / batch_size) steps, each for every member at once.
# CPU: measured: the paper-slice group (8 networks, 60,000 images, batch 20, float32,
#   2 threads) takes about 58 s per epoch (docs/speed.md), i.e. 2.4 ms per network
#   and step (~7 s per network-epoch); with fewer than 2 threads counted twice as long.
# CUDA: not measured yet for this code (docs/speed.md: no GPU run so far). A
#   deliberately generous guess: 2 ms per step plus 0.06 ms per network and step
#   (16 ms for a group of 240, where the design's target is 2.5 ms with the step replayed
#   from a CUDA graph), so that a group whose capture failed and which runs eagerly still
#   fits. Measure with `snakemake --cores 1 benchmark_training` on a GPU node and adjust.
# training.device "auto" counts as the CPU (the longer estimate): set "cuda" where jobs
# run on GPUs (profiles/slurm does). Both get x1.5 and 10 minutes for start-up, data,
# test evaluations and checkpoints; every retry (attempt) gets that much more, and a
# retried job resumes from its last epoch's checkpoint.
CPU_SECONDS_PER_NETWORK_STEP = 2.4e-3
CUDA_SECONDS_PER_STEP = 2e-3
CUDA_SECONDS_PER_NETWORK_STEP = 0.06e-3


def training_on_cuda(training):
    return str(training["device"]).startswith("cuda")


def training_steps(training):
    n_train = training["train_subset"] or 60000
    return training["epochs"] * (n_train // training["batch_size"])


def training_runtime(members, threads, attempt, training=TRAINING_PARAMS):
    """Minutes to request for training ``members`` networks in one process."""
    steps = training_steps(training)
    if training_on_cuda(training):
        seconds = steps * (CUDA_SECONDS_PER_STEP + CUDA_SECONDS_PER_NETWORK_STEP * members)
    else:
        seconds = steps * members * CPU_SECONDS_PER_NETWORK_STEP * (2 if threads < 2 else 1)
    return (math.ceil(1.5 * seconds / 60) + 10) * attempt


def training_mem_mb(members, attempt, training=TRAINING_PARAMS):
    """Host memory (MB) of a training job: a few MB per network on top of PyTorch, MNIST
    and, on CUDA, the driver; generous, and more on every retry."""
    base = 4000 if training_on_cuda(training) else 2000
    return (base + 50 * members) * attempt


def group_members(wildcards):
    return TRAINING_GROUPS[int(wildcards.group)]


def group_priority(wildcards):
    """Groups in their order (priority 0, -1, ...): the first hold the networks whose
    statistics passes and posterior fits follow (training_networks; those jobs have
    priority 10), which then run beside the later groups. The short jobs (priority 0)
    go first: some of them form chains (Appendix 5: training, statistics, analysis,
    figure) that would otherwise lengthen the end of the run."""
    return -int(wildcards.group)


def network_group_dir(wildcards):
    """The group directory holding this network; for a network of no group, a path
    no rule makes, so that train_network trains it alone."""
    key = tuple(getattr(wildcards, k) for k in ("noise", "rho", "c", "seed"))
    if key not in GROUP_OF_NETWORK:
        return "results/train_groups/no-group"
    return TRAIN_GROUP_DIR.format(group=GROUP_OF_NETWORK[key])


def networks_per_seed(*network_lists):
    """(noise, rho, c) of the given networks, without repeats: those of the first seed
    (every seed has the same), so one list serves the statistics job of every seed."""
    out = []
    for networks in network_lists:
        for n in networks:
            members = {k: v for k, v in n["wildcards"].items() if k != "seed"}
            if n["seed"] == SEEDS[0] and members not in out:
                out.append(members)
    return out


# Wall-time estimate of a statistics job (resources.runtime, minutes). Per network, from
# the quick preset's statistics jobs on a CPU core (8,000 images, 2 epochs; about 1.7 s
# each): 0.1 ms per image and epoch (minibatch and per-datapoint gradients from one
# backward pass), 20 µs per example and layer for the closed-form exact-Hessian diagonal,
# 10 s to load and save the network; x2, plus 10 minutes per job. Used on a GPU too (not
# measured there).
def statistics_runtime(members, training, curvature, attempt):
    n_train = training["train_subset"] or 60000
    examples = min(curvature["exact_hessian_examples"] or n_train, n_train)
    per_network = (
        n_train * 0.1e-3 * curvature["statistics_epochs"]
        + 20e-6 * examples * len(curvature["exact_hessian_layers"])
        + 10
    )
    return (math.ceil(2 * members * per_network / 60) + 10) * attempt


def statistics_runtime_of(job):
    """resources.runtime of a statistics job (see statistics_runtime)."""

    def runtime(wildcards, attempt):
        return statistics_runtime(len(job["members"]), job["training"], job["curvature"], attempt)

    return runtime


# Statistics jobs: one per seed, each computing the statistics of its networks one after
# another in one process (Fig. 5 / Appendix 6 networks and Fig. 7 networks, which share
# CURVATURE_DIR, as far as the selected targets need them; and those of the network with
# no hidden layer, Appendix 5).
STATISTICS_JOBS = {
    "extract_statistics_group": {
        "members": networks_per_seed(
            CURVATURE_NETWORKS if needs_stage(config, "curvature") else [],
            FIG7_NETWORKS if needs_stage(config, "posterior") else [],
        ),
        "train_dir": TRAIN_DIR,
        "out_dir": CURVATURE_DIR,
        "training": TRAINING_PARAMS,
        "curvature": CURVATURE_EXTRACTION,
    },
    "extract_statistics_nohidden_group": {
        "members": networks_per_seed(NOHIDDEN_NETWORKS),
        "train_dir": NOHIDDEN_TRAIN_DIR,
        "out_dir": NOHIDDEN_CURVATURE_DIR,
        "training": TRAINING_PARAMS | {"layer_sizes": ARCHITECTURES["nohidden"]},
        "curvature": CURVATURE_EXTRACTION | {"exact_hessian_layers": [1]},
    },
}


def per_seed_paths(pattern, members):
    """``pattern`` for each member, with {seed} left as the job's wildcard."""
    return [pattern.format(seed="{seed}", **m) for m in members]


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


def published_input():
    """The published arrays, where a figure draws them (``published.compare``)."""
    return [PUBLISHED_DIR] if PUBLISHED["compare"] else []


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
# Figure 5 with the exact Hessian (beyond the paper): only where the statistics pass
# computes exact H_ii of layer 2.
EXACT_HESSIAN_FIGURE = (
    CURVATURE["exact_hessian_max_synapses"] > 0 and 2 in CURVATURE["exact_hessian_layers"]
)

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
    "drift": figure_files("drift"),
    "reproduction": ["results/reproduction.csv", "results/reproduction.md"],
    "fig5_published": figure_files("fig5_published"),
    "fig5_exact_hessian": (
        ["results/tables/exact_hessian.csv", *figure_files("fig5_exact_hessian")]
        if EXACT_HESSIAN_FIGURE
        else []
    ),
    "claims": ["results/claims.csv", "results/claims.md"],
    "configuration": ["results/configuration.yaml"],
}


def all_targets():
    """The files of every selected target; a figure without panels (e.g. figA6_2 with
    no other c factor) is not made and so not listed."""
    return [path for name in selected_targets(config) for path in TARGET_FILES.get(name, [])]


# ---- The reproduction table's inputs (rules/reproduction.smk)


def reproduction_inputs(wildcards):
    """Our tables the reproduction compares: those of the stages this run trains."""
    inputs = {"published": PUBLISHED_DIR}
    if needs_stage(config, "sweep"):
        inputs["training"] = "results/tables/training.csv"
    if reproduction_statistics():
        inputs["curvature"] = "results/tables/curvature.csv"
        inputs["statistics"] = [n["path"] for n in reproduction_statistics()]
    return inputs


def reproduction_statistics():
    """Statistics of the Figure 5 networks (c factor 1), where this run has them."""
    if needs_stage(config, "curvature") and 1 in CURVATURE["c_factors"]:
        return curvature_statistics([1])
    return []
