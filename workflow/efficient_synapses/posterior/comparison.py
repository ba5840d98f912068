"""Optimised noise against the Bayesian posterior (Fig. 7, Appendix 5) and the ELBO bound.

* Fig. 7 as the paper computes it (Methods: "we used the analytic results in Appendix 5"):
  for every synapse i of one layer of a trained network, from that network's own
  statistics (``curvature.extract_statistics``, at w = μ), the posterior variance
  σ²_post;i = 1/H_ii (Eq. 54c, a prior variance large against 1/H_ii) and the optimised
  variance σ_i² = (s^ρ/H_ii)^(2/(ρ+2)) (Eq. 29) with s = (cρ)^(1/ρ) (Eq. 48) of the
  network. H_ii is the empirical-Fisher estimate of the Hessian of the performance cost
  summed over the N training images (``hessian_{gradient}_layer{l}``: (N/B)<g_B²> per
  minibatch or N<g_t²> per datapoint), the Hessian to which Eq. 24-29 refer once the
  minibatch objective is scaled back to the whole data set. log σ² is then exactly
  (2/(ρ+2)) log σ²_post + const: the paper's lines have slope 2/(ρ+2) by construction.
* Beyond the paper, on the same synapses: the σ² the network actually learnt against
  1/H_ii (Eq. 29 inside one network) and against the variance of a variational posterior
  fitted from that network's μ (``jobs.run_posterior_fit`` with ``start_from``), so that
  synapse i of the posterior is synapse i of the network.
* Appendix 5: the network with no hidden layer, σ² against the learning rate
  (4/(ρ+2), Eq. 54a), the mean squared input <x²> (-2/(ρ+2), Eq. 54b) and σ²_post
  (2/(ρ+2), Eq. 54c).
* The bound (Appendix 4, Eq. 41-53): C_BI ≥ C_VI for the σ of every trained network,
  with the gap closing as ρ → 0 at fixed σ and s (Eq. 50-52).

Synapses whose presynaptic unit never fires at w = μ (dead ReLU units) carry no
information about the data: their H_ii is 0, so σ²_post and the Eq. 29 σ² are infinite,
and their learnt σ and posterior sd are set by the costs alone. They are excluded from
the fits and counted (``n_excluded``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..artefacts import network_key, statistics_key
from ..costs import (
    analytic_slopes,
    biological_bound_per_synapse,
    entropic_cost_per_synapse,
    optimal_sigma,
    s_from_c,
)
from ..statistics import loglog_fit, loglog_intervals, subsample

# ρ values at which the bound's gap is evaluated at fixed σ and s (Eq. 50-52: → 0 as ρ → 0).
RHO_LIMIT_SERIES = (2.0, 1.0, 0.5, 0.1, 0.01, 0.001)

# The comparisons of posterior_slopes.csv: (y, x, reference slope) of log y on log x.
# "eq29" is the paper's optimised σ² (Eq. 29), "laplace" its σ²_post = 1/H (Eq. 54c),
# "trained" the σ² the network learnt, "vi" the variational posterior variance fitted
# from the network's μ.
FIG7_COMPARISONS = {
    "eq29_vs_laplace": ("eq29", "laplace", "2/(rho+2)"),
    "trained_vs_laplace": ("trained", "laplace", "2/(rho+2)"),
    "trained_vs_vi": ("trained", "vi", "2/(rho+2)"),
    "vi_vs_laplace": ("vi", "laplace", "1"),
}


def analytic_variances(hessian: np.ndarray, rho: float, c: float) -> dict[str, np.ndarray]:
    """Appendix 5 applied to one network: σ²_post = 1/H (Eq. 54c) and Eq. 29's σ².

    ``hessian``: H_ii of the performance cost summed over the training set; ``c`` the
    network's reliability cost multiplier, s = (cρ)^(1/ρ) (Eq. 48). Entries with
    H_ii ≤ 0 or not finite give NaN (no curvature: no finite posterior or optimum).
    """
    h = np.asarray(hessian, dtype=float)
    valid = np.isfinite(h) & (h > 0)
    safe = np.where(valid, h, 1.0)
    s = s_from_c(c, rho)
    laplace = np.where(valid, 1.0 / safe, np.nan)
    eq29 = np.where(valid, optimal_sigma(safe, rho, s) ** 2, np.nan)
    return {"laplace": laplace, "eq29": eq29}


def fig7_variances(
    statistics: Mapping[str, np.ndarray],
    vi_sd: np.ndarray | None,
    layer: int,
    gradient: str,
    rho: float,
    c: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per synapse of ``layer``, flat: the four variances of ``FIG7_COMPARISONS``, and the
    mask of synapses that enter the fits (presynaptic unit active, H_ii > 0 and finite).

    ``statistics``: a network's statistics.npz; ``vi_sd``: the (out, in) posterior sd of
    the variational fit started from that network (None: no VI column).
    """
    sigma_key = statistics_key("sigma_squared", layer)
    hessian_key = statistics_key("hessian", layer, gradient)
    trained = np.asarray(statistics[sigma_key], dtype=float)
    hessian = np.asarray(statistics[hessian_key], dtype=float)
    rate = np.broadcast_to(
        np.asarray(statistics[statistics_key("input_rate", layer)]), trained.shape
    )
    if hessian.shape != trained.shape:
        raise ValueError(
            f"{hessian_key} has shape {hessian.shape}, {sigma_key} "
            f"{trained.shape}: not the statistics of one layer"
        )
    variances = {"trained": trained.ravel(), **analytic_variances(hessian.ravel(), rho, c)}
    if vi_sd is not None:
        vi_sd = np.asarray(vi_sd, dtype=float)
        if vi_sd.shape != trained.shape:
            raise ValueError(
                f"the variational posterior of layer {layer} has shape {vi_sd.shape}, the "
                f"network's statistics {trained.shape}: they are not the same network"
            )
        variances["vi"] = vi_sd.ravel() ** 2
    active = (rate.ravel() > 0) & np.isfinite(variances["laplace"])
    return variances, active


def reference_slope(reference: str, rho: float) -> float:
    return analytic_slopes(rho)["posterior_variance"] if reference == "2/(rho+2)" else 1.0


# The comparison the Fig. 7 claims are judged on gets intervals: the Spearman r (Fisher z)
# and the reduced-major-axis slope (bootstrap over synapses), which, unlike least squares,
# is not pulled towards 0 by the noise in log σ²_post.
INTERVAL_COMPARISONS = ("trained_vs_vi",)


def fig7_rows(
    variances: Mapping[str, np.ndarray],
    active: np.ndarray,
    network: Mapping,
    resamples: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """One row per comparison of ``FIG7_COMPARISONS`` (those whose variances exist); those
    of ``INTERVAL_COMPARISONS`` with ``statistics.loglog_intervals`` (``resamples``, ``seed``)."""
    rho = float(network["rho_value"])
    rows = []
    for comparison, (y, x, reference) in FIG7_COMPARISONS.items():
        if x not in variances or y not in variances:
            continue
        fit = loglog_fit(variances[x][active], variances[y][active])
        if comparison in INTERVAL_COMPARISONS and resamples > 0:
            fit |= loglog_intervals(variances[x][active], variances[y][active], resamples, seed)
        rows.append(
            {
                **network,
                "comparison": comparison,
                **fit,
                "n_synapses": int(active.size),
                "n_inactive": int((~active).sum()),
                "n_excluded": int((~active).sum()) + fit["n_excluded"],
                "reference_slope": reference_slope(reference, rho),
                "reference": reference,
            }
        )
    return rows


def illustrative_pair(hessian: np.ndarray, active: np.ndarray, quantiles=(0.5, 0.95)):
    """Flat indices of two active synapses at the median and a high quantile of H_ii.

    Below the median, H_ii falls over many decades (units that rarely fire): the posterior
    sd 1/√H_ii of such a synapse dwarfs every other ellipse of the panel.
    """
    flat = np.flatnonzero(active)
    if flat.size < 2:
        raise ValueError(
            f"only {flat.size} synapse(s) with an active presynaptic unit and H_ii > 0: no "
            "pair of synapses to draw (every unit of the layer is silent)"
        )
    order = np.argsort(np.asarray(hessian, float).ravel()[flat], kind="stable")
    last = len(order) - 1
    low = min(int(quantiles[0] * last), last - 1)
    high = max(int(quantiles[1] * last), low + 1)  # two distinct synapses
    return [int(flat[order[low]]), int(flat[order[high]])]


def figure7_data(
    networks: Sequence[Mapping],
    statistics: Sequence[Mapping[str, np.ndarray]],
    vi_sd: Sequence[np.ndarray | None],
    layer: int,
    gradient: str,
    scatter_points: int,
    scatter_seed: int = 0,
    resamples: int = 1000,
    bootstrap_seed: int = 0,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Rows of posterior_slopes.csv and the arrays Fig. 7 draws (networks of the first seed).

    ``networks``: identifying columns (noise, rho, rho_value, c_factor, c, seed, and
    ``diverged``, plus any columns to carry into the rows, e.g. the variational fit's
    basin check); ``statistics`` and ``vi_sd`` in the same order. A diverged network
    keeps its rows, flagged, so that the claims can exclude and count it.
    """
    rows, arrays = [], {}
    first_seed = min(int(n["seed"]) for n in networks)
    for k, (network, stats, sd) in enumerate(zip(networks, statistics, vi_sd, strict=True)):
        rho, c = float(network["rho_value"]), float(network["c"])
        variances, active = fig7_variances(stats, sd, layer, gradient, rho, c)
        rows += fig7_rows(variances, active, dict(network), resamples, bootstrap_seed + k)
        if int(network["seed"]) != first_seed:
            continue
        hessian = 1.0 / variances["laplace"]
        pair = illustrative_pair(hessian, active)
        keep = np.flatnonzero(active)
        keep = keep[subsample(keep.size, scatter_points, scatter_seed)]
        for name, values in variances.items():
            arrays[network_key(k, name)] = values[keep]
            arrays[network_key(k, f"pair_{name}")] = values[pair]
        arrays[network_key(k, "pair_index")] = np.asarray(pair)
        arrays[network_key(k, "meta")] = np.array([rho, float(network["c_factor"]), c])
        arrays[network_key(k, "rho")] = np.array(str(network["rho"]))
    arrays["layer"] = np.array(layer)
    arrays["gradient"] = np.array(gradient)
    return rows, arrays


def nohidden_quantities(
    statistics: Mapping[str, np.ndarray], gradient: str, learning_rate: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ², <x²> (broadcast to the synapses) and η of the one layer of Appendix 5's network.

    ``learning_rate``: "learning_rate" (η_base/sqrt(<g²>), Eq. 7) or "learning_rate_abs".
    """
    sigma_squared = np.asarray(statistics[statistics_key("sigma_squared", 1)])
    x_squared = np.broadcast_to(statistics[statistics_key("input_sq", 1)], sigma_squared.shape)
    eta = np.asarray(statistics[statistics_key(learning_rate, 1, gradient)])
    return sigma_squared, x_squared, eta


def nohidden_rows(
    statistics: Mapping[str, np.ndarray],
    posterior_sd: np.ndarray,
    network: Mapping,
    gradient: str,
    learning_rate: str,
) -> list[dict]:
    """Appendix 5: fitted and analytic slopes of log σ² against η, <x²> and σ²_post."""
    sigma_squared, x_squared, eta = nohidden_quantities(statistics, gradient, learning_rate)
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


def nohidden_data(
    networks: Sequence[Mapping],
    statistics: Sequence[Mapping[str, np.ndarray]],
    posterior_sd: Mapping[int, np.ndarray],
    gradient: str,
    learning_rate: str,
    scatter_points: int,
    scatter_seed: int = 0,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Rows of nohidden_slopes.csv and the arrays Appendix 5 figure 1 draws.

    ``networks``: identifying columns (noise, rho, rho_value, c_factor, c, seed);
    ``statistics`` their statistics.npz in the same order; ``posterior_sd``: the posterior
    sd (out, in) of the variational fit of each seed. Scatter points: ``scatter_points``
    synapses of each network of the first seed, drawn with ``scatter_seed``.
    """
    rows, arrays = [], {}
    first_seed = min(int(seed) for seed in posterior_sd)
    for k, (network, stats) in enumerate(zip(networks, statistics, strict=True)):
        sd = posterior_sd[int(network["seed"])]
        rows += nohidden_rows(stats, sd, network, gradient, learning_rate)
        if int(network["seed"]) != first_seed:
            continue
        sigma_squared, x_squared, eta = nohidden_quantities(stats, gradient, learning_rate)
        keep = subsample(sigma_squared.size, scatter_points, scatter_seed)
        arrays |= {
            network_key(k, "sigma_squared"): sigma_squared.ravel()[keep],
            network_key(k, "learning_rate"): eta.ravel()[keep],
            network_key(k, "input_sq"): x_squared.ravel()[keep],
            network_key(k, "posterior_variance"): (sd**2).ravel()[keep],
            network_key(k, "rho"): np.array(str(network["rho"])),
        }
    return rows, arrays


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
