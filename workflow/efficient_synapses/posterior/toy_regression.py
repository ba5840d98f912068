"""Appendix 4 figure 1: predictive distributions of variational Bayes and of the overall cost.

A network with one hidden layer of 20 ReLU units is fitted to targets
y = f(x) + N(0, ε²), f(x) = x³ + 2x², observed only on some intervals of x, so that
the fits must extrapolate in between and beyond. The performance cost is the
Gaussian negative log-likelihood with the same ε (Eq. 19-20). Fitted:

* variational Bayes: the negative ELBO (``VariationalObjective``), prior as for MNIST;
* the overall cost (Eq. 2) with c = s^ρ/ρ (Eq. 48) for every ρ and every s,
  heterogeneous noise: all of them at once, as one vectorised group of networks.

Both go through the one training engine, full-batch. The predictive distribution of
each fit is the distribution of network outputs f(x, w) under its weight noise
w = μ + σξ (the paper: "the distribution of predictions induced by noisy weights"),
summarised by its mean and standard deviation over ``predictive_samples`` draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..costs import c_from_s
from ..data.raw import Dataset
from ..training.engine import TrainOptions, train
from ..training.model import StochasticMLP
from ..training.objectives import (
    EnergyEfficientObjective,
    VariationalObjective,
    gaussian_performance_cost,
)


def true_function(x):
    """f(x) = x³ + 2x² (Appendix 4 fig. 1)."""
    return x**3 + 2.0 * x**2


def make_data(
    intervals: Sequence[Sequence[float]], points_per_interval: int, noise_sd: float, seed: int
) -> Dataset:
    """Inputs drawn uniformly in each interval, targets f(x) + N(0, noise_sd²); seeded.

    Inputs (N, 1) sorted by x, targets (N,), both float64.
    """
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(low, high, points_per_interval) for low, high in intervals])
    x.sort()
    y = true_function(x) + noise_sd * rng.standard_normal(x.size)
    return Dataset(torch.from_numpy(x[:, None]), torch.from_numpy(y))


@torch.no_grad()
def predictive(
    model: StochasticMLP, x: torch.Tensor, samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd over ``samples`` weight draws of each network's output: (K, G) each."""
    gen = torch.Generator().manual_seed(seed)
    sigmas = model.sigmas()
    draws = torch.stack(
        [model(x, model.sample_weights(gen, sigmas=sigmas))[..., 0] for _ in range(samples)]
    )
    return draws.mean(0).numpy(), draws.std(0).numpy()


def fit_toy_models(
    settings: dict,
    rhos: Sequence[str],
    rho_values: Sequence[float],
    prior: str,
    prior_scale: float,
    magnitude_lambda: float,
    log: Callable[[str], None] = print,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Fit variational Bayes and the overall cost for every (s, ρ); return rows and arrays.

    ``settings`` is the ``toy_regression`` section of config.yaml. Arrays: the data
    (``x``, ``y``), the grid and f on it, and per fit the predictive mean and sd
    (``vi_mean``, ``vi_sd``; ``energy_mean``, ``energy_sd`` of shape (len(s), len(ρ), G)).
    """
    seed, noise_sd = int(settings["seed"]), float(settings["noise_sd"])
    data = make_data(settings["intervals"], settings["points_per_interval"], noise_sd, seed)
    n = len(data)
    likelihood = gaussian_performance_cost(noise_sd)
    options = TrainOptions(
        epochs=int(settings["epochs"]),
        batch_size=n,  # full batch: the data set is small
        learning_rate=float(settings["learning_rate"]),
        noise_seed=seed,
        log_every=max(1, int(settings["epochs"]) // 10),
    )

    vi = _toy_networks(settings, 1)
    vi_objective = VariationalObjective(prior, prior_scale, n, n, loss=likelihood)
    log(f"variational Bayes, {prior} prior scale {prior_scale:g}, {n} data points")
    vi_history = train(vi, vi_objective, data, options, ["variational Bayes"], log=log)

    s_values = [float(s) for s in settings["s_values"]]
    specs = [(s, rho, r) for s in s_values for rho, r in zip(rhos, rho_values, strict=True)]
    energy = _toy_networks(settings, len(specs))
    energy_history = _fit_overall_cost(
        energy, specs, data, options, likelihood, magnitude_lambda, log
    )

    grid = torch.linspace(*[float(v) for v in settings["x_range"]], 241, dtype=torch.float64)
    samples = int(settings["predictive_samples"])
    vi_mean, vi_sd = predictive(vi, grid[:, None], samples, seed + 1)
    energy_mean, energy_sd = predictive(energy, grid[:, None], samples, seed + 2)
    shape = (len(s_values), len(rhos), grid.numel())
    arrays = {
        "x": data.inputs[:, 0].numpy(),
        "y": data.labels.numpy(),
        "grid": grid.numpy(),
        "f_grid": true_function(grid).numpy(),
        "intervals": np.asarray(settings["intervals"], float),
        "vi_mean": vi_mean[0],
        "vi_sd": vi_sd[0],
        "energy_mean": energy_mean.reshape(shape),
        "energy_sd": energy_sd.reshape(shape),
        "s_values": np.asarray(s_values),
        "rho": np.asarray([str(r) for r in rhos]),
        "noise_sd": np.asarray(noise_sd),
        "observed": observed_on_grid(grid.numpy(), settings["intervals"]),
    }
    nan = float("nan")
    fits = [("variational Bayes", nan, "", nan, vi_mean[0], vi_sd[0], vi_history, 0)]
    fits += [
        ("overall cost", s, rho, c_from_s(s, r), energy_mean[k], energy_sd[k], energy_history, k)
        for k, (s, rho, r) in enumerate(specs)
    ]
    rows = [_fit_row(arrays, *fit) for fit in fits]
    return rows, arrays


def _fit_overall_cost(energy, specs, data, options, likelihood, magnitude_lambda, log):
    """Train ``energy`` on the overall cost (Eq. 2) with c = s^ρ/ρ (Eq. 48), one network
    per (s, ρ label, ρ value) of ``specs``, performance cost ``likelihood``; its history."""
    n = len(data)
    objective = EnergyEfficientObjective(
        c=[c_from_s(s, r) for s, _, r in specs],
        rho=[r for _, _, r in specs],
        magnitude_lambda=magnitude_lambda,
        n_train=n,
        batch_size=n,
        dtype=torch.float64,
        loss=likelihood,
    )
    describe = [f"overall cost s={s:g} rho={rho} c={c_from_s(s, r):.4g}" for s, rho, r in specs]
    return train(energy, objective, data, options, describe, log=log)


def _toy_networks(settings: dict, count: int) -> StochasticMLP:
    """``count`` networks with one hidden layer of ``hidden_units``, all from the same μ."""
    hidden = int(settings["hidden_units"])
    return StochasticMLP(
        [1, hidden, 1],
        ["heterogeneous"] * count,
        [int(settings["seed"])] * count,  # every fit starts from the same μ
        # μ ~ U(±1/√H): the usual scale for H hidden units on a one-dimensional input.
        mu_init_range=1.0 / np.sqrt(hidden),
        sigma_init=float(settings["sigma_init"]),
        dtype=torch.float64,
    )


def observed_on_grid(grid: np.ndarray, intervals: Sequence[Sequence[float]]) -> np.ndarray:
    """True where the grid point lies inside one of the intervals holding data."""
    observed = np.zeros(grid.size, bool)
    for low, high in intervals:
        observed |= (grid >= low) & (grid <= high)
    return observed


def expected_nlpd(mean, sd, f, noise_sd: float) -> np.ndarray:
    """Expected negative log predictive density of a new y = f(x) + N(0, ε²) under the
    predictive N(mean, sd² + ε²), per grid point: ½ ln(2π v) + ((f − mean)² + ε²)/(2v),
    v = sd² + ε². A proper score: it grows with a misplaced mean and with an sd too small
    or too large for the error, so it measures predictive performance as a whole."""
    v = np.asarray(sd, float) ** 2 + noise_sd**2
    return 0.5 * np.log(2 * np.pi * v) + ((np.asarray(f) - mean) ** 2 + noise_sd**2) / (2 * v)


def _fit_row(arrays, fit, s, rho, c, mean, sd, history, k) -> dict:
    """One row of toy_regression.csv: the fit's final loss, its error against f on the grid,
    its mean predictive sd inside and outside the observed intervals and its expected
    negative log predictive density over the grid (``expected_nlpd``)."""
    observed = arrays["observed"]
    nlpd = expected_nlpd(mean, sd, arrays["f_grid"], float(arrays["noise_sd"]))
    return {
        "fit": fit,
        "s": s,
        "rho": rho,
        "c": c,
        "final_loss": history.loss[-1][k],
        "rmse_to_f": float(np.sqrt(np.mean((mean - arrays["f_grid"]) ** 2))),
        "predictive_sd_observed": float(np.mean(sd[observed])),
        "predictive_sd_unobserved": float(np.mean(sd[~observed])),
        "nlpd": float(np.mean(nlpd)),
        "nlpd_observed": float(np.mean(nlpd[observed])),
    }
