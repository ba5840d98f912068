"""Tables of the synapse statistics (Fig. 5, Appendix 6): NumPy only, no PyTorch.

Reads the ``statistics.npz`` files written by :mod:`efficient_synapses.synapses.extract`
and reduces each (network, layer, quantity) to a Spearman correlation and a
log-log slope of σ² against the quantity. Synapses whose quantity is not
positive and finite cannot sit on a log axis: those from dead hidden units
(zero input rate, zero gradient, hence infinite learning rate) are excluded
from the fits and counted in ``n_excluded``; the rank correlation uses the same
synapses as the fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..artefacts import GRADIENT_MODES, read_npz, statistics_key, statistics_layers
from ..costs import linear_model_slope
from ..statistics import loglog_fit, spearman

QUANTITIES = ("hessian", "learning_rate", "learning_rate_abs", "input_rate")


def layer_quantities(arrays: Mapping[str, np.ndarray], layer: int, gradient: str) -> dict:
    """Flat per-synapse arrays of one layer: σ² and every quantity of ``QUANTITIES``.

    ``gradient`` picks the Fisher estimate: "minibatch" or "per_datapoint". The
    input rate of a presynaptic unit is repeated for each of its synapses.
    """
    sigma_squared = np.asarray(arrays[statistics_key("sigma_squared", layer)])
    n_out = sigma_squared.shape[0]
    input_rate = np.asarray(arrays[statistics_key("input_rate", layer)])
    input_rate = np.broadcast_to(input_rate, sigma_squared.shape)
    out = {"sigma_squared": sigma_squared.ravel(), "input_rate": np.ravel(input_rate)}
    for quantity in ("hessian", "learning_rate", "learning_rate_abs"):
        out[quantity] = np.asarray(arrays[statistics_key(quantity, layer, gradient)]).ravel()
    assert all(len(v) == n_out * sigma_squared.shape[1] for v in out.values())
    return out


def layers_in(arrays: Mapping[str, np.ndarray]) -> list[int]:
    """The layers (from 1) whose σ² the statistics hold."""
    return statistics_layers(arrays)


def gradient_modes_in(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """The gradient modes whose Fisher estimate the statistics hold."""
    return [m for m in GRADIENT_MODES if statistics_key("hessian", 1, m) in arrays]


# Rows of curvature.csv that relate two synapse statistics other than σ²: synapse
# importance (the Hessian estimate) against the input rate (Discussion of Fig. 5/6: "a
# tendency for synapses with higher input firing rates to be more important").
IMPORTANCE_VS_INPUT = "importance_vs_input_rate"


def curvature_rows(arrays: Mapping[str, np.ndarray], network: Mapping) -> list[dict]:
    """One row per (layer, gradient mode, quantity) of one network: the log-log fit of σ²
    on the quantity; and per (layer, gradient mode) one row ``IMPORTANCE_VS_INPUT``, the
    fit of the Hessian estimate on the input rate (synapses with a silent presynaptic
    unit, rate 0 and H 0, are left out and counted: they would tie the two trivially).

    ``network`` holds the identifying columns (noise, rho, rho_value, c_factor, c, seed).
    """
    rows = []
    for layer in layers_in(arrays):
        for gradient in gradient_modes_in(arrays):
            q = layer_quantities(arrays, layer, gradient)
            rows.append(
                {
                    **network,
                    "layer": layer,
                    "gradient": gradient,
                    "quantity": IMPORTANCE_VS_INPUT,
                    **loglog_fit(q["input_rate"], q["hessian"]),
                    "linear_model_slope": float("nan"),
                }
            )
            for quantity in QUANTITIES:
                if quantity == "input_rate" and gradient != gradient_modes_in(arrays)[0]:
                    continue  # the input rate does not depend on the gradient mode
                fit = loglog_fit(q[quantity], q["sigma_squared"])
                rows.append(
                    {
                        **network,
                        "layer": layer,
                        "gradient": "none" if quantity == "input_rate" else gradient,
                        "quantity": quantity,
                        **fit,
                        "linear_model_slope": linear_model_slope(
                            quantity, float(network["rho_value"])
                        ),
                    }
                )
    return rows


def fisher_vs_hessian_rows(arrays: Mapping[str, np.ndarray], network: Mapping) -> list[dict]:
    """Exact H_ii against the empirical-Fisher estimates, per layer and gradient mode.

    ``median_ratio`` is the median of Fisher / exact over synapses with a positive
    exact value, the exact Hessian (summed over ``exact_hessian_examples``
    datapoints) rescaled to the ``n_train`` datapoints of the Fisher estimates:
    1 when the empirical Fisher equals the Hessian in scale.
    """
    rows = []
    n_examples = int(arrays.get("exact_hessian_examples", 0))
    n_train = int(arrays.get("n_train", n_examples))
    for layer in layers_in(arrays):
        key = statistics_key("exact_hessian", layer)
        if key not in arrays:
            continue
        index = np.asarray(arrays[statistics_key("exact_hessian_index", layer)])
        exact = np.asarray(arrays[key], dtype=float)
        for gradient in gradient_modes_in(arrays):
            fisher = np.asarray(arrays[statistics_key("hessian", layer, gradient)]).ravel()[index]
            sigma_squared = np.asarray(arrays[statistics_key("sigma_squared", layer)]).ravel()[
                index
            ]
            rate_key = statistics_key("learning_rate_abs", layer, gradient)
            eta = np.asarray(arrays[rate_key]).ravel()[index]
            positive = exact > 0
            ratio = fisher[positive] / (exact[positive] * n_train / n_examples)
            # Appendix 3's relation on the exact diagonal: σ² and the learning rate
            # η_base/<|g|> against H_ii, over the synapses with H_ii > 0 (a finite η).
            usable = positive & np.isfinite(eta)
            rows.append(
                {
                    **network,
                    "layer": layer,
                    "gradient": gradient,
                    "n_synapses": len(index),
                    "n_examples": n_examples,
                    "n_exact_nonpositive": int((~positive).sum()),
                    "spearman_r": spearman(fisher, exact, min_pairs=3),
                    "spearman_r_positive": spearman(fisher[positive], exact[positive], min_pairs=3),
                    "median_ratio": float(np.median(ratio)) if len(ratio) else float("nan"),
                    "n_exact_positive": int(positive.sum()),
                    "spearman_sigma_squared_exact": spearman(
                        sigma_squared[positive], exact[positive], min_pairs=3
                    ),
                    "spearman_learning_rate_abs_exact": spearman(
                        eta[usable], exact[usable], min_pairs=3
                    ),
                }
            )
    return rows


def _table(networks: Iterable[Mapping], make_rows) -> pd.DataFrame:
    rows = []
    for network in networks:
        network = dict(network)
        path = network.pop("path")
        rows.extend(make_rows(read_npz(path), network))
    if not rows:
        raise ValueError("no synapse statistics to tabulate")
    table = pd.DataFrame(rows)
    keys = [k for k in ("rho_value", "c_factor", "seed", "layer", "gradient") if k in table]
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def curvature_table(networks: Iterable[Mapping]) -> pd.DataFrame:
    """curvature.csv: every network's rows; ``networks`` are dicts with a ``path`` key."""
    return _table(networks, curvature_rows)


def fisher_vs_hessian_table(networks: Iterable[Mapping]) -> pd.DataFrame:
    """fisher_vs_hessian.csv: exact-Hessian check of every network."""
    return _table(networks, fisher_vs_hessian_rows)
