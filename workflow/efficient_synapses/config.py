"""Turning config.yaml into the list of networks to train, with checks the schema cannot express."""

from __future__ import annotations

import math

from .artefacts import c_label, parse_rho, rho_label, rho_text, rho_value
from .costs import c_from_s

# Values of c of the published Figure 2/3 arrays (60 columns: one heterogeneous and one
# homogeneous per c; efficient_synapses.data.published).
PUBLISHED_C_COUNT = 30

# Training variants (``training.variant``): the network and costs a variant trains
# (``model``: a ``StochasticMLP`` variant) and the Adam learning rate and λ it takes where
# ``training.learning_rate`` / ``training.magnitude_lambda`` are null.
#   as_published: the Methods' network and costs with the released code's learning rate
#     1e-4; this reproduces the published Figure 2 and Figure 5 arrays
#     (docs/reproduction.md), so it is the default.
#   methods: the Methods as written (learning rate 5e-4).
#   released_code: as the authors' sims-fig2and3.py ran it (its layer order, its
#     homogeneous form, learning rate 1e-4, λ = 0.01).
TRAINING_VARIANTS = {
    "as_published": {"model": "methods", "learning_rate": 1e-4, "magnitude_lambda": 1e-4},
    "methods": {"model": "methods", "learning_rate": 5e-4, "magnitude_lambda": 1e-4},
    "released_code": {"model": "released_code", "learning_rate": 1e-4, "magnitude_lambda": 0.01},
}
DEFAULT_VARIANT = "as_published"


def training_variant(training: dict) -> str:
    """The variant ``training`` names (``training.variant``), checked."""
    variant = training.get("variant") or DEFAULT_VARIANT
    if variant not in TRAINING_VARIANTS:
        raise ConfigError(
            f"training.variant is {variant!r}; expected one of {sorted(TRAINING_VARIANTS)}"
        )
    return variant


def model_variant(training: dict) -> str:
    """The network-and-cost form of the variant (``StochasticMLP(variant=...)``)."""
    return TRAINING_VARIANTS[training_variant(training)]["model"]


def resolve_training(training: dict) -> dict:
    """``training`` with the variant's learning rate and λ where they are null.

    Idempotent; a value set explicitly (a reduced preset's learning rate, an experiment's)
    is kept, and ``reproduction.variant_label`` names it beside the variant.
    """
    variant = training_variant(training)
    resolved = dict(training, variant=variant)
    for key in ("learning_rate", "magnitude_lambda"):
        if resolved.get(key) is None:
            resolved[key] = TRAINING_VARIANTS[variant][key]
    return resolved


def resolve_config(config: dict) -> dict:
    """Resolve ``config["training"]`` in place (``resolve_training``); returns ``config``.

    Run once at the start of the workflow, so that every rule, caption and the recorded
    configuration see the learning rate and λ that were trained with."""
    config["training"] = resolve_training(config["training"])
    return config


class ConfigError(ValueError):
    """config.yaml is valid JSON-schema-wise but inconsistent."""


def c_grid(log10_c: dict) -> list[float]:
    """c = 10^k for k = start, start + step, ..., stop (inclusive), as in Figure 2."""
    start, stop, step = (float(log10_c[k]) for k in ("start", "stop", "step"))
    if stop < start:
        raise ConfigError(f"sweep.log10_c.stop ({stop}) is below sweep.log10_c.start ({start})")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    return [10.0 ** round(start + i * step, 10) for i in range(n)]


def check_config(config: dict) -> None:
    """Raise ConfigError naming the key for inconsistencies the schema cannot catch."""
    training = config["training"]
    sizes = training["layer_sizes"]
    if sizes[0] != 784 or sizes[-1] != 10:
        raise ConfigError(
            f"training.layer_sizes must start with 784 (MNIST pixels) and end with 10 "
            f"(classes), got {sizes}"
        )
    for rho in config["sweep"]["rho"]:
        try:
            parse_rho(rho)
        except ValueError as err:
            raise ConfigError(f"sweep.rho: {err}") from err
    c_grid(config["sweep"]["log10_c"])
    sizes = config["nohidden"]["layer_sizes"]
    if sizes != [784, 10]:
        raise ConfigError(f"nohidden.layer_sizes must be [784, 10] (no hidden layer), got {sizes}")
    prior_scale(training, config["posterior"])
    layers = len(training["layer_sizes"]) - 1
    if not 1 <= config["posterior"]["layer"] <= layers:
        raise ConfigError(
            f"posterior.layer is {config['posterior']['layer']}, but training.layer_sizes "
            f"has layers 1 to {layers}"
        )
    toy = config["toy_regression"]
    for low, high in toy["intervals"]:
        if not low < high:
            raise ConfigError(f"toy_regression.intervals: [{low}, {high}] is empty")
    if not toy["x_range"][0] < toy["x_range"][1]:
        raise ConfigError(f"toy_regression.x_range {toy['x_range']} is empty")
    by_rho = config["sweep"].get("log10_c_by_rho") or {}
    rhos = [parse_rho(r) for r in config["sweep"]["rho"]]
    for key in by_rho:
        try:
            value = parse_rho(key)
        except ValueError as err:
            raise ConfigError(f"sweep.log10_c_by_rho: key {key!r}: {err}") from err
        if value not in rhos:
            raise ConfigError(
                f"sweep.log10_c_by_rho has ρ = {key!r}, which is not in sweep.rho "
                f"{config['sweep']['rho']}"
            )
    for i, entry in enumerate(config["sweep"].get("networks") or []):
        try:
            value = parse_rho(entry["rho"])
        except ValueError as err:
            raise ConfigError(f"sweep.networks[{i}].rho: {err}") from err
        if value not in rhos:
            raise ConfigError(
                f"sweep.networks[{i}] has ρ = {entry['rho']!r}, which is not in sweep.rho "
                f"{config['sweep']['rho']}"
            )
        if entry["noise"] not in config["sweep"]["noise"]:
            raise ConfigError(
                f"sweep.networks[{i}] has noise {entry['noise']!r}, which is not in "
                f"sweep.noise {config['sweep']['noise']}"
            )
    training_variant(training)
    for target in config.get("targets") or []:
        if target not in TARGET_STAGES:
            raise ConfigError(
                f"targets: unknown target {target!r}; expected one of {sorted(TARGET_STAGES)}"
            )
    published = config.get("published")
    if published is not None and published["log10_c"]["count"] != PUBLISHED_C_COUNT:
        raise ConfigError(
            f"published.log10_c.count is {published['log10_c']['count']}, but the published "
            f"Figure 2/3 arrays hold {PUBLISHED_C_COUNT} values of c"
        )
    n_train = training["train_subset"] or 60000
    if training["batch_size"] > n_train:
        raise ConfigError(
            f"training.batch_size ({training['batch_size']}) exceeds the number of training "
            f"images ({n_train})"
        )


def sweep_c_values(config: dict, rho: str) -> list[float]:
    """c of the Figure 2/3 networks at this ρ: ``sweep.log10_c_by_rho[rho]`` if given,
    else the grid ``sweep.log10_c`` (the same for every ρ, as in the paper)."""
    by_rho = config["sweep"].get("log10_c_by_rho")
    if by_rho:
        for key, values in by_rho.items():
            if parse_rho(key) == parse_rho(rho):
                return [10.0 ** float(k) for k in values]
        return []
    return c_grid(config["sweep"]["log10_c"])


def sweep_networks(config: dict) -> list[dict[str, str]]:
    """Wildcard values (noise, rho, c, seed) of every Figure 2/3 training job: the explicit
    slices of ``sweep.networks`` if given, else every noise setting × ρ × c × seed."""
    sweep = config["sweep"]
    if not needs_stage(config, "sweep"):
        return []
    if sweep.get("networks"):
        out = []
        for entry in sweep["networks"]:
            for log10_c in entry["log10_c"]:
                for seed in entry["seeds"]:
                    network = {
                        "noise": entry["noise"],
                        "rho": rho_label(entry["rho"]),
                        "c": c_label(10.0 ** float(log10_c)),
                        "seed": str(seed),
                    }
                    if network not in out:
                        out.append(network)
        return out
    return [
        {"noise": noise, "rho": rho_label(rho), "c": c_label(c), "seed": str(seed)}
        for noise in sweep["noise"]
        for rho in sweep["rho"]
        for c in sweep_c_values(config, rho)
        for seed in sweep["seeds"]
    ]


# What each selectable target (config key `targets`) needs trained: the Figure 2/3
# sweep, the networks of Figure 5 / Appendix 6 ("curvature"), of Figure 7
# ("posterior"), and the network without hidden layer ("nohidden"). Names are figure
# names and table stems (results/tables/<name>.csv), plus claims and configuration.
TARGET_STAGES = {
    "fig1": set(),
    "fig2": {"sweep"},
    "fig3": {"sweep"},
    "fig4": set(),
    "fig5": {"curvature"},
    "fig6": set(),
    "fig7": {"posterior"},
    "figA4_1": set(),
    "figA5_1": {"nohidden"},
    "figA6_1": {"curvature"},
    "figA6_2": {"curvature"},
    "training": {"sweep"},
    "training_history": {"sweep"},
    "drift": {"sweep"},
    "reproduction": set(),  # compares whatever the other targets trained
    "fig5_published": {"curvature"},
    "paper_slice": {"sweep"},
    "experimental": set(),
    "curvature": {"curvature"},
    "fisher_vs_hessian": {"curvature"},
    "fig5_exact_hessian": {"curvature"},
    "posterior_slopes": {"posterior"},
    "nohidden_slopes": {"nohidden"},
    "toy_regression": set(),
    "elbo_bound": {"curvature", "posterior", "nohidden"},
    "claims": {"sweep", "curvature", "posterior", "nohidden"},
    "configuration": set(),
}


def selected_targets(config: dict) -> list[str]:
    """The targets of this run: config key ``targets``, or every one when it is null."""
    targets = config.get("targets")
    return list(TARGET_STAGES) if targets is None else list(targets)


def needs_stage(config: dict, stage: str) -> bool:
    """Whether any selected target needs the networks of ``stage`` trained."""
    return any(stage in TARGET_STAGES[t] for t in selected_targets(config))


def networks_at_s(
    config: dict, s: float, c_factors, noise: str, seeds=None, rhos=None
) -> list[dict]:
    """Networks trained with c = s^ρ/ρ (Eq. 48) times each factor, for every ρ and seed.

    Each entry holds the path wildcards (``wildcards``) and the identifying columns of
    the tables built from these networks.
    """
    seeds = config["sweep"]["seeds"] if seeds is None else seeds
    rhos = config["sweep"]["rho"] if rhos is None else rhos
    networks = []
    for rho in rhos:
        value = rho_value(rho)
        for factor in c_factors:
            c = c_label(c_from_s(s, value) * factor)
            for seed in seeds:
                networks.append(
                    {
                        "wildcards": {
                            "noise": noise,
                            "rho": rho_label(rho),
                            "c": c,
                            "seed": str(seed),
                        },
                        "noise": noise,
                        "rho": rho_text(rho),
                        "rho_value": value,
                        "c_factor": float(factor),
                        "c": float(c),
                        "seed": int(seed),
                    }
                )
    return networks


def curvature_networks(config: dict, c_factors=None, seeds=None) -> list[dict]:
    """Networks of Figure 5 and Appendix 6: s = curvature.s, every c factor (or those given)."""
    section = config["curvature"]
    factors = section["c_factors"] if c_factors is None else c_factors
    return networks_at_s(config, section["s"], factors, section["noise"], seeds)


def posterior_networks(config: dict, seeds=None) -> list[dict]:
    """Networks of Figure 7: heterogeneous noise, c = 10^(-2ρ)/ρ (s = 0.01) times the factors."""
    section = config["posterior"]
    factors = [10.0**k for k in section["log10_c_factors"]]
    return networks_at_s(config, section["s"], factors, "heterogeneous", seeds)


def nohidden_networks(config: dict, seeds=None) -> list[dict]:
    """Networks of Appendix 5 (no hidden layer): c = s^ρ/ρ, heterogeneous noise, every ρ."""
    section = config["nohidden"]
    return networks_at_s(config, section["s"], [1.0], "heterogeneous", seeds)


def training_networks(config: dict) -> list[dict[str, str]]:
    """Wildcards of every network of the paper's architecture that the workflow trains.

    The networks of Figures 5, 7 and Appendix 6 first, then those of the Figure 2/3
    sweep not already among them; no network twice. Only the stages the selected
    ``targets`` need. Statistics passes and posterior fits follow the first ones, so
    with groups in this order they run while the sweep is still training.
    """
    seen, out = set(), []
    first = []
    if needs_stage(config, "curvature"):
        first += [n["wildcards"] for n in curvature_networks(config)]
    if needs_stage(config, "posterior"):
        first += [n["wildcards"] for n in posterior_networks(config)]
    for wildcards in first + sweep_networks(config):
        key = tuple(sorted(wildcards.items()))
        if key not in seen:
            seen.add(key)
            out.append(wildcards)
    return out


def training_groups(config: dict) -> list[list[dict[str, str]]]:
    """Every network of :func:`training_networks` in groups of ``training.group_size``.

    Consecutive networks (same noise setting and ρ, neighbouring c, all seeds) share a
    group, so a group's networks take similar time per step.
    """
    size = config["training"]["group_size"]
    networks = training_networks(config)
    return [networks[i : i + size] for i in range(0, len(networks), size)]


def prior_scale(training: dict, posterior: dict) -> float:
    """Scale of the variational prior: 1/λ for the Laplace prior of the magnitude cost
    (Eq. 38-40), or the standard deviation of the Gaussian prior."""
    if posterior["prior"] == "laplace":
        lam = resolve_training(training)["magnitude_lambda"]
        if not lam > 0:
            raise ConfigError(
                "posterior.prior is laplace with scale 1/training.magnitude_lambda, but "
                f"training.magnitude_lambda is {lam!r}; set it > 0 or use the gaussian prior"
            )
        return 1.0 / lam
    return float(posterior["gaussian_prior_sd"])
