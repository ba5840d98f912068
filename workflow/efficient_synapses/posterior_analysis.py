"""Optimised noise against the variational posterior (Fig. 7, Appendix 5) and the ELBO bound.

* Fig. 7: per synapse of one layer, σ² of a network trained with the overall cost
  against σ²_post of the variational posterior of the same architecture, trained
  from the same initialisation on the same data (Bayes by backprop). The analytic
  log-log slope for a linear model is 2/(ρ+2) (Eq. 54c); the paper: slopes below 1,
  rising towards 1 as ρ falls.
* Appendix 5: the network with no hidden layer, σ² against the learning rate
  (4/(ρ+2), Eq. 54a), the mean squared input <x²> (-2/(ρ+2), Eq. 54b) and σ²_post
  (2/(ρ+2), Eq. 54c).
* The bound (Appendix 4, Eq. 41-53): C_BI ≥ C_VI for the σ of every trained network,
  with the gap closing as ρ → 0 at fixed σ and s (Eq. 50-52).

Synapses whose presynaptic unit never fires at w = μ (dead ReLU units) carry no
information about the data: the performance cost does not depend on them, so both
their optimised σ and their posterior sd are set by the costs alone (and grow for as
long as training lasts). They are excluded from the fits and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .costs import (
    analytic_slopes,
    biological_bound_per_synapse,
    entropic_cost_per_synapse,
    s_from_c,
)
from .curvature_analysis import loglog_fit, subsample

# ρ values at which the bound's gap is evaluated at fixed σ and s (Eq. 50-52: → 0 as ρ → 0).
RHO_LIMIT_SERIES = (2.0, 1.0, 0.5, 0.1, 0.01, 0.001)


def load_params(path: str | Path) -> dict:
    """params.pt / posterior.pt of ``jobs.save_params`` (μ and σ of every layer)."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def weight_sigma(params: Mapping, layer: int) -> np.ndarray:
    """σ of the weights of ``layer`` (1 = input to first hidden layer), (out, in)."""
    return params["sigma_weight"][layer - 1].double().numpy()


def presynaptic_rate(model, inputs, layer: int, chunk: int = 10000) -> np.ndarray:
    """Mean input <x> to ``layer`` at w = μ over ``inputs`` (N, n_in): per presynaptic unit.

    ``model`` is one network (``curvature.load_network``); its forward pass records the
    input of every layer.
    """
    import torch

    total = None
    with torch.no_grad():
        for start in range(0, inputs.shape[0], chunk):
            activity = []
            model(inputs[start : start + chunk], record_activity=activity)
            part = activity[layer - 1][0].double().sum(0)
            total = part if total is None else total + part
    return (total / inputs.shape[0]).cpu().numpy()


def active_synapses(rate: np.ndarray, n_out: int) -> np.ndarray:
    """(out, in) mask of synapses whose presynaptic unit is active (hidden: rate > 0)."""
    return np.broadcast_to(rate > 0, (n_out, rate.size))


def posterior_slope_rows(
    sigma: np.ndarray, posterior_sd: np.ndarray, active: np.ndarray, network: Mapping
) -> dict:
    """log σ² against log σ²_post over the active synapses: slope, Spearman r, analytic slope."""
    fit = loglog_fit(posterior_sd[active] ** 2, sigma[active] ** 2)
    return {
        **network,
        **fit,
        "n_inactive": int((~active).sum()),
        "analytic_slope": analytic_slopes(float(network["rho_value"]))["posterior_variance"],
    }


def illustrative_pair(posterior_sd: np.ndarray, active: np.ndarray, quantiles=(0.15, 0.85)):
    """Flat indices of two active synapses at low and high quantiles of the posterior sd."""
    flat = np.flatnonzero(active.ravel())
    values = posterior_sd.ravel()[flat]
    order = np.argsort(values, kind="stable")
    return [int(flat[order[int(q * (len(order) - 1))]]) for q in quantiles]


def figure7_data(
    networks: Sequence[Mapping],
    posterior_by_seed: Mapping[int, Mapping],
    rate_by_network: Sequence[np.ndarray],
    layer: int,
    scatter_points: int,
    scatter_seed: int = 0,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Rows of posterior_slopes.csv and the arrays Fig. 7 draws.

    ``networks``: identifying columns plus ``params`` (loaded params.pt); posterior per
    seed; presynaptic rates of ``layer`` per network (for the active-synapse mask).
    """
    rows, arrays = [], {}
    first_seed = min(int(n["seed"]) for n in networks)
    post0 = weight_sigma(posterior_by_seed[first_seed], layer)
    pair = None
    for k, (network, rate) in enumerate(zip(networks, rate_by_network, strict=True)):
        meta = {key: v for key, v in network.items() if key != "params"}
        sigma = weight_sigma(network["params"], layer)
        posterior_sd = weight_sigma(posterior_by_seed[int(network["seed"])], layer)
        active = active_synapses(rate, sigma.shape[0])
        rows.append(posterior_slope_rows(sigma, posterior_sd, active, meta))
        if int(network["seed"]) != first_seed:
            continue
        if pair is None:
            pair = illustrative_pair(post0, active)
            arrays["pair_index"] = np.asarray(pair)
            arrays["pair_posterior_sd"] = post0.ravel()[pair]
        keep = np.flatnonzero(active.ravel())
        keep = keep[subsample(keep.size, scatter_points, scatter_seed)]
        arrays[f"net{k}_sigma_squared"] = sigma.ravel()[keep] ** 2
        arrays[f"net{k}_posterior_variance"] = posterior_sd.ravel()[keep] ** 2
        arrays[f"net{k}_pair_sigma"] = sigma.ravel()[pair]
        arrays[f"net{k}_meta"] = np.array(
            [float(meta["rho_value"]), float(meta["c_factor"]), float(meta["c"])]
        )
        arrays[f"net{k}_rho"] = np.array(str(meta["rho"]))
    arrays["layer"] = np.array(layer)
    return rows, arrays


def nohidden_rows(
    statistics: Mapping[str, np.ndarray],
    posterior_sd: np.ndarray,
    network: Mapping,
    gradient: str,
    learning_rate: str,
) -> list[dict]:
    """Appendix 5: fitted and analytic slopes of log σ² against η, <x²> and σ²_post."""
    sigma_squared = np.asarray(statistics["sigma_squared_layer1"])
    x_squared = np.broadcast_to(statistics["input_sq_layer1"], sigma_squared.shape)
    eta = np.asarray(statistics[f"{learning_rate}_{gradient}_layer1"])
    analytic = analytic_slopes(float(network["rho_value"]))
    rows = []
    for quantity, values, slope in (
        ("learning_rate", eta, analytic["learning_rate"]),
        ("input_sq", x_squared, analytic["input_rate_squared"]),
        ("posterior_variance", posterior_sd**2, analytic["posterior_variance"]),
    ):
        fit = loglog_fit(values, sigma_squared)
        rows.append({**network, "quantity": quantity, **fit, "analytic_slope": slope})
    return rows


def bound_rows(sigma: np.ndarray, network: Mapping, rho_series=RHO_LIMIT_SERIES) -> list[dict]:
    """C_VI and C_BI (Eq. 41-47) of a trained network's σ, at its own ρ and s, and as ρ → 0.

    s = (cρ)^(1/ρ) (Eq. 48) of the network. Per synapse, C_BI;i - C_VI;i ≥ 0 (Eq. 43-44);
    ``min_gap`` is its smallest value over synapses, ``mean_gap`` its mean. Rows with
    ``rho_evaluated`` other than the network's ρ evaluate the same σ and s at that ρ
    (Eq. 50-52: the gap vanishes as ρ → 0).
    """
    import torch

    rho = float(network["rho_value"])
    s = s_from_c(float(network["c"]), rho)
    sd = torch.as_tensor(np.asarray(sigma, float).ravel(), dtype=torch.float64)
    c_vi = entropic_cost_per_synapse(sd)
    rows = []
    for rho_evaluated in (rho, *[r for r in rho_series if r < rho]):
        gap = biological_bound_per_synapse(sd, rho_evaluated, s) - c_vi
        rows.append(
            {
                **network,
                "s": s,
                "rho_evaluated": rho_evaluated,
                "own_rho": rho_evaluated == rho,
                "n_synapses": sd.numel(),
                "C_VI": float(c_vi.sum()),
                "C_BI": float(c_vi.sum() + gap.sum()),
                "mean_gap": float(gap.mean()),
                "min_gap": float(gap.min()),
                "median_sigma_over_s": float((sd / s).median()),
                # Eq. 43-44 per synapse, up to rounding where σ_i ≈ s (gap ~ (ln σ/s)²).
                "bound_holds": bool(gap.min() >= -1e-9),
            }
        )
    return rows
