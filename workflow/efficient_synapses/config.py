"""Turning config.yaml into the list of networks to train, with checks the schema cannot express."""

from __future__ import annotations

import math

from .labels import c_label, parse_rho, rho_label


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
    n_train = training["train_subset"] or 60000
    if training["batch_size"] > n_train:
        raise ConfigError(
            f"training.batch_size ({training['batch_size']}) exceeds the number of training "
            f"images ({n_train})"
        )


def sweep_networks(config: dict) -> list[dict[str, str]]:
    """Wildcard values (noise, rho, c, seed) of every Figure 2/3 training job."""
    sweep = config["sweep"]
    return [
        {"noise": noise, "rho": rho_label(rho), "c": c_label(c), "seed": str(seed)}
        for noise in sweep["noise"]
        for rho in sweep["rho"]
        for c in c_grid(sweep["log10_c"])
        for seed in sweep["seeds"]
    ]


def sweep_groups(config: dict) -> list[list[dict[str, str]]]:
    """The sweep split into training groups of ``training.group_size`` networks.

    Consecutive networks of the sweep (same noise setting and ρ, neighbouring c,
    all seeds) share a group, so a group's networks take similar time per step.
    """
    size = config["training"]["group_size"]
    networks = sweep_networks(config)
    return [networks[i : i + size] for i in range(0, len(networks), size)]
