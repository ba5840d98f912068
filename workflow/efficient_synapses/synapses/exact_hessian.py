"""Figure 5 with the exact Hessian diagonal beside the empirical Fisher (beyond the paper).

Figure 5 puts each synapse's learnt variance σ² against its Hessian H_ii, which the
paper estimates by the empirical Fisher N⟨g_i²⟩ (Eq. 31-32, Methods). The empirical
Fisher equals the Hessian of the cross-entropy only where the network's predicted
distribution matches the data's; it departs from the Hessian where the training loss
is small (Kunstner, Balles & Hennig 2019, "Limitations of the empirical Fisher
approximation"). The statistics pass therefore also computes the exact H_ii for a
random subset of synapses per layer
(:func:`efficient_synapses.synapses.extract.exact_hessian_subset`).
This module compares, on that same subset, σ² against the empirical Fisher and σ²
against the exact H_ii: one table row per (network, layer, Hessian estimate), and the
Figure 5 layout drawn both ways.

The exact H_ii is summed over ``exact_hessian_examples`` datapoints; it is rescaled
to the ``n_train`` datapoints of the Fisher estimate so the two share a scale. Exact
diagonal entries can be zero or negative (the cost is not convex in μ); they cannot
enter a log-log fit and are counted in ``n_excluded``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..artefacts import read_npz, statistics_key, statistics_layers
from ..statistics import loglog_fit

ESTIMATES = ("empirical_fisher", "exact_hessian")
ESTIMATE_LABELS = {
    "empirical_fisher": "empirical Fisher $N\\langle g_i^2\\rangle$",
    "exact_hessian": "exact Hessian $H_{ii}$",
}


def eq29_slope(rho: float) -> float:
    """Slope of log σ² on log H for a linear model: σ² ∝ H^(-2/(ρ+2)) (Eq. 29)."""
    return -2.0 / (float(rho) + 2.0)


def exact_subset(arrays: Mapping[str, np.ndarray], layer: int, gradient: str) -> dict | None:
    """σ², empirical Fisher and exact H_ii of the synapses of ``layer`` whose exact H_ii
    was computed, both Hessian estimates on the scale of the whole training set; None
    when the layer has no exact subset."""
    key = statistics_key("exact_hessian", layer)
    if key not in arrays:
        return None
    index = np.asarray(arrays[statistics_key("exact_hessian_index", layer)], dtype=int)
    n_examples = int(arrays["exact_hessian_examples"])
    n_train = int(arrays.get("n_train", n_examples))
    sigma_squared = np.asarray(arrays[statistics_key("sigma_squared", layer)]).ravel()[index]
    fisher = np.asarray(arrays[statistics_key("hessian", layer, gradient)]).ravel()[index]
    exact = np.asarray(arrays[key], dtype=float) * (n_train / n_examples)
    return {
        "sigma_squared": sigma_squared,
        "empirical_fisher": fisher,
        "exact_hessian": exact,
        "n_examples": n_examples,
    }


def exact_hessian_rows(
    arrays: Mapping[str, np.ndarray], network: Mapping, gradient: str
) -> list[dict]:
    """One row per (layer, Hessian estimate): the log-log fit of σ² on that estimate over
    the exact-Hessian subset (slope, intercept, Spearman r, synapses used and excluded),
    with Eq. 29's slope for a linear model beside it."""
    rows = []
    for layer in statistics_layers(arrays):
        subset = exact_subset(arrays, layer, gradient)
        if subset is None:
            continue
        for estimate in ESTIMATES:
            fit = loglog_fit(subset[estimate], subset["sigma_squared"])
            rows.append(
                {
                    **network,
                    "layer": layer,
                    "estimate": estimate,
                    "gradient": gradient,
                    "n_examples": subset["n_examples"],
                    **fit,
                    "eq29_slope": eq29_slope(network["rho_value"]),
                }
            )
    return rows


def exact_hessian_table(networks: Iterable[Mapping], gradient: str) -> pd.DataFrame:
    """exact_hessian.csv: every network's rows; ``networks`` are dicts with a ``path`` key
    (its statistics.npz) and the identifying columns."""
    rows = []
    for network in networks:
        network = dict(network)
        path = network.pop("path")
        rows.extend(exact_hessian_rows(read_npz(path), network, gradient))
    if not rows:
        raise ValueError(
            "no exact-Hessian subset in any statistics file: set curvature.exact_hessian_layers "
            "and exact_hessian_max_synapses > 0"
        )
    table = pd.DataFrame(rows)
    return table.sort_values(["rho_value", "c_factor", "seed", "layer", "estimate"]).reset_index(
        drop=True
    )
