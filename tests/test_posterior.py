"""Variational inference (Bayes by backprop): the negative ELBO and its terms.

Terms are checked against torch.distributions; the whole objective, through the
training engine, against the analytic mean-field posterior of a conjugate
linear-Gaussian regression.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from efficient_synapses.costs import entropic_cost_per_synapse, entropic_reliability_cost
from efficient_synapses.data.raw import Dataset
from efficient_synapses.training.engine import TrainOptions, train
from efficient_synapses.training.model import StochasticMLP
from efficient_synapses.training.objectives import (
    VariationalObjective,
    expected_abs,
    expected_neg_log_prior,
    gaussian_performance_cost,
    variational_regularisers,
)


def _normal_samples(mu, sigma, n=400_000, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return mu + sigma * torch.randn((n, *mu.shape), generator=gen, dtype=torch.float64)


def test_expected_abs_is_the_folded_normal_mean():
    mu = torch.tensor([0.0, 0.3, -1.2, 2.0], dtype=torch.float64)
    sigma = torch.tensor([1.0, 0.5, 0.7, 0.1], dtype=torch.float64)
    monte_carlo = _normal_samples(mu, sigma).abs().mean(0)
    torch.testing.assert_close(expected_abs(mu, sigma), monte_carlo, rtol=5e-3, atol=2e-3)
    # σ → 0: E|w| → |μ|, the magnitude cost of Eq. 3.
    torch.testing.assert_close(expected_abs(mu, torch.full_like(mu, 1e-9)), mu.abs())
    assert expected_abs(torch.zeros(1), torch.ones(1)).item() == pytest.approx(
        math.sqrt(2 / math.pi)
    )


@pytest.mark.parametrize(
    ("prior", "distribution"),
    [
        ("laplace", lambda b: torch.distributions.Laplace(0.0, b)),
        ("gaussian", lambda b: torch.distributions.Normal(0.0, b)),
    ],
)
def test_expected_negative_log_prior_matches_monte_carlo(prior, distribution):
    mu = torch.tensor([0.0, 0.4, -0.9], dtype=torch.float64)
    sigma = torch.tensor([0.3, 0.05, 0.6], dtype=torch.float64)
    scale = 0.7
    monte_carlo = -distribution(torch.tensor(scale, dtype=torch.float64)).log_prob(
        _normal_samples(mu, sigma)
    )
    ours = expected_neg_log_prior(mu, sigma, prior, scale)
    torch.testing.assert_close(ours, monte_carlo.mean(0), rtol=5e-3, atol=5e-3)


def test_laplace_prior_is_the_magnitude_cost_plus_a_constant_eq40():
    """With b = 1/λ and σ → 0: E[-log P(w)] = N ln(2/λ) + λ Σ|μ| (Eq. 39-40)."""
    lam = 1e-2
    mu = torch.tensor([0.5, -2.0, 0.0, 3.0], dtype=torch.float64)
    ours = expected_neg_log_prior(mu, torch.full_like(mu, 1e-12), "laplace", 1 / lam).sum()
    assert ours.item() == pytest.approx(4 * math.log(2 / lam) + lam * mu.abs().sum().item())


def test_entropy_is_minus_the_entropic_reliability_cost_eq41():
    sigma = torch.tensor([1e-3, 0.1, 1.0, 5.0], dtype=torch.float64)
    reference = torch.distributions.Normal(torch.zeros_like(sigma), sigma).entropy()
    torch.testing.assert_close(-entropic_cost_per_synapse(sigma), reference)
    summed = entropic_reliability_cost(sigma)
    torch.testing.assert_close(entropic_cost_per_synapse(sigma).sum(), summed)


def test_objective_terms_are_sums_with_the_b_over_n_convention():
    """loss = Σ_minibatch NLL + (B/N)(E[-log P(w)] - H[Q]), with sums over every synapse."""
    torch.manual_seed(0)
    model = StochasticMLP([3, 4, 2], ["heterogeneous"], [0], sigma_init=0.1, dtype=torch.float64)
    objective = VariationalObjective("gaussian", 2.0, n_train=50, batch_size=5)
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])
    value = objective(model, x, y, torch.Generator().manual_seed(3))
    params = [
        (w[0], s[0])
        for pair_w, pair_s in zip(model.means(), model.sigmas(), strict=True)
        for w, s in zip(pair_w, pair_s, strict=True)
    ]
    mus = torch.cat([m.flatten() for m, _ in params])
    sds = torch.cat([s.flatten() for _, s in params])
    prior = -torch.distributions.Normal(0.0, 2.0).log_prob(mus).sum() + (sds**2).sum() / 8.0
    entropy = torch.distributions.Normal(mus, sds).entropy().sum()
    torch.testing.assert_close(value.parts["neg_log_prior"][0], prior)
    torch.testing.assert_close(value.parts["entropy"][0], entropy)
    expected = value.parts["performance"][0] + 5 / 50 * (prior - entropy)
    torch.testing.assert_close(value.loss[0], expected)
    assert value.correct is not None


def _regulariser_inputs(shape):
    """μ of both signs and near 0, σ from 1e-4 to 10 (float64, K = shape[0] networks)."""
    gen = torch.Generator().manual_seed(5)
    n = math.prod(shape)
    mu = torch.randn(n, generator=gen, dtype=torch.float64) * 3.0
    mu[: n // 4] *= 1e-4  # |μ| << σ: z near 0, where E|w| is smooth but not |μ|
    mu[n // 4 : n // 2] = -mu[n // 4 : n // 2].abs()  # both signs, whatever randn drew
    sigma = torch.logspace(-4, 1, n, dtype=torch.float64)[torch.randperm(n, generator=gen)]
    return mu.reshape(shape), sigma.reshape(shape)


@pytest.mark.parametrize(
    ("prior", "scale"), [("laplace", 0.7), ("laplace", 1e4), ("gaussian", 2.0)]
)
@pytest.mark.parametrize("shape", [(3, 40), (2, 5, 8)])
def test_fused_regularisers_match_the_autograd_formulas_eq38_41(prior, scale, shape):
    """Values and both derivatives of the fused sums against the plain elementwise terms."""
    mu, sigma = _regulariser_inputs(shape)
    mu.requires_grad_()
    sigma.requires_grad_()
    neg_log_prior, entropic = variational_regularisers(mu, sigma, prior, scale)
    reference_prior = expected_neg_log_prior(mu, sigma, prior, scale).flatten(1).sum(1)
    reference_entropic = entropic_cost_per_synapse(sigma).flatten(1).sum(1)
    assert neg_log_prior.shape == entropic.shape == (shape[0],)
    torch.testing.assert_close(neg_log_prior, reference_prior, rtol=1e-13, atol=0.0)
    torch.testing.assert_close(entropic, reference_entropic, rtol=1e-13, atol=0.0)
    # Distinct weights per network and per term, so a gradient sent to the wrong
    # network or the wrong term, or a wrong sign or factor, shows.
    a = torch.tensor([1.5, -0.5, 2.0], dtype=torch.float64)[: shape[0]]
    c = torch.tensor([0.25, 3.0, -1.0], dtype=torch.float64)[: shape[0]]
    ours = torch.autograd.grad((a * neg_log_prior + c * entropic).sum(), (mu, sigma))
    reference = torch.autograd.grad(
        (a * reference_prior + c * reference_entropic).sum(), (mu, sigma)
    )
    for g, r in zip(ours, reference, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("prior", "scale"), [("laplace", 0.7), ("gaussian", 2.0)])
def test_fused_regularisers_pass_gradcheck(prior, scale):
    mu, sigma = _regulariser_inputs((2, 3, 4))
    # σ ≥ 1e-2 here: finite differences with step 1e-6 need σ well above the step.
    sigma = sigma.clamp(min=1e-2)
    assert torch.autograd.gradcheck(
        lambda m, s: variational_regularisers(m, s, prior, scale),
        (mu.requires_grad_(), sigma.requires_grad_()),
    )


def test_fused_regularisers_closed_form_derivatives_by_hand():
    """∂E|w|/∂μ = erf(z/√2), ∂E|w|/∂σ = √(2/π) e^(-z²/2); ∂(-½ ln σ²)/∂σ = -1/σ."""
    mu = torch.tensor([[0.0, 0.3, -1.2, 2e-5]], dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([[1.0, 1e-4, 0.7, 10.0]], dtype=torch.float64, requires_grad=True)
    b, s_p = 3.0, 0.5
    z = (mu / sigma).detach()
    prior, entropic = variational_regularisers(mu, sigma, "laplace", b)
    g_mu, g_sigma = torch.autograd.grad(prior.sum(), (mu, sigma), retain_graph=True)
    torch.testing.assert_close(g_mu, torch.erf(z / math.sqrt(2)) / b)
    torch.testing.assert_close(g_sigma, math.sqrt(2 / math.pi) * torch.exp(-0.5 * z * z) / b)
    (g_sigma,) = torch.autograd.grad(entropic.sum(), sigma)
    torch.testing.assert_close(g_sigma, -1 / sigma.detach())
    prior, _ = variational_regularisers(mu, sigma, "gaussian", s_p)
    g_mu, g_sigma = torch.autograd.grad(prior.sum(), (mu, sigma))
    torch.testing.assert_close(g_mu, mu.detach() / s_p**2)
    torch.testing.assert_close(g_sigma, sigma.detach() / s_p**2)


def test_fused_regularisers_work_under_torch_func_grad():
    mu, sigma = _regulariser_inputs((2, 6))

    def total(m, s):
        p, c = variational_regularisers(m, s, "laplace", 0.7)
        return (p + c).sum()

    ours = torch.func.grad(total, argnums=(0, 1))(mu, sigma)
    m, s = mu.clone().requires_grad_(), sigma.clone().requires_grad_()
    reference = expected_neg_log_prior(m, s, "laplace", 0.7) + entropic_cost_per_synapse(s)
    for g, r in zip(ours, torch.autograd.grad(reference.sum(), (m, s)), strict=True):
        torch.testing.assert_close(g, r)


def test_vi_recovers_the_mean_field_posterior_of_a_conjugate_linear_gaussian_model():
    """Mean-field optimum: posterior mean exact, 1/σ_i² = H_ii + 1/s_p² (Eq. 26 + prior)."""
    n, d, noise_sd, prior_sd, k = 200, 4, 0.5, 1.0, 8
    gen = torch.Generator().manual_seed(1)
    scales = torch.linspace(0.3, 2.0, d, dtype=torch.float64)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) * scales
    w_true = torch.tensor([0.5, -1.0, 0.3, 0.8], dtype=torch.float64)
    y = x @ w_true + 0.2 + noise_sd * torch.randn(n, generator=gen, dtype=torch.float64)
    design = torch.cat([x, torch.ones(n, 1, dtype=torch.float64)], 1)  # the bias is a weight too
    precision = (
        design.T @ design / noise_sd**2 + torch.eye(d + 1, dtype=torch.float64) / prior_sd**2
    )
    posterior_mean = torch.linalg.solve(precision, design.T @ y / noise_sd**2)
    mean_field_sd = precision.diagonal().rsqrt()

    # k replicas (own initialisation, own noise) average out the noise of the optimiser.
    model = StochasticMLP(
        [d, 1], ["heterogeneous"] * k, list(range(k)), sigma_init=0.03, dtype=torch.float64
    )
    objective = VariationalObjective(
        "gaussian", prior_sd, n, n, loss=gaussian_performance_cost(noise_sd)
    )
    train(model, objective, Dataset(x, y), TrainOptions(3000, n, 1e-2), log=lambda _: None)
    with torch.no_grad():
        sw, sb = model.sigmas()[0]
        sd = torch.cat([sw[:, 0], sb], 1).mean(0)
        mean = torch.cat([model.mu_w[0][:, 0], model.mu_b[0]], 1).mean(0)
    torch.testing.assert_close(sd, mean_field_sd, rtol=0.1, atol=0.0)
    assert ((mean - posterior_mean).abs() < 0.5 * mean_field_sd).all()
    # Not the exact posterior's marginal sd: mean field under-estimates correlated weights.
    exact_sd = torch.linalg.inv(precision).diagonal().sqrt()
    assert (mean_field_sd <= exact_sd + 1e-12).all()


# --- Figure 7, Appendix 5 and the bound: the analysis on synthetic inputs -------------


def test_analytic_variances_are_eq54c_and_eq29_by_hand():
    """σ²_post = 1/H (Eq. 54c); σ² = (s^ρ/H)^(2/(ρ+2)) (Eq. 29) with s = (cρ)^(1/ρ) (Eq. 48)."""
    from efficient_synapses.posterior.comparison import analytic_variances

    rho, s = 2.0, 0.1
    c = s**rho / rho  # 0.005
    out = analytic_variances(np.array([4.0, 100.0, 0.0]), rho, c)
    # H = 4: σ⁴ = s²/H = 0.0025 -> σ² = 0.05; H = 100: σ⁴ = 1e-4 -> σ² = 0.01.
    np.testing.assert_allclose(out["laplace"][:2], [0.25, 0.01])
    np.testing.assert_allclose(out["eq29"][:2], [0.05, 0.01])
    assert np.isnan(out["laplace"][2]) and np.isnan(out["eq29"][2])  # no curvature


def _fig7_statistics(rng, rho, planted_slope, dead_units=5, n_out=20, n_in=30, dead_h=0.0):
    """Statistics of one layer: σ² = (1/H)^planted_slope, dead presynaptic units with H = dead_h."""
    hessian = np.exp(rng.normal(4, 1, size=(n_out, n_in)))
    rate = np.ones(n_in)
    rate[:dead_units] = 0.0
    hessian[:, :dead_units] = dead_h
    sigma_squared = np.where(hessian > 0, (1 / np.where(hessian > 0, hessian, 1)), 1.0)
    sigma_squared = sigma_squared**planted_slope
    sigma_squared[:, :dead_units] = 1e3  # whatever the costs alone made of them
    return {
        "sigma_squared_layer2": sigma_squared,
        "hessian_minibatch_layer2": hessian,
        "input_rate_layer2": rate,
    }


def test_fig7_rows_give_the_paper_line_and_recover_planted_slopes_without_dead_units():
    from efficient_synapses.posterior.comparison import fig7_rows, fig7_variances

    rng = np.random.default_rng(0)
    rho = 0.5
    stats = _fig7_statistics(rng, rho, planted_slope=0.3)
    hessian = stats["hessian_minibatch_layer2"]
    vi_sd = np.where(hessian > 0, 1 / np.sqrt(np.where(hessian > 0, hessian, 1)), 5.0) ** 0.9
    variances, active = fig7_variances(stats, vi_sd, 2, "minibatch", rho, c=0.2)
    rows = {r["comparison"]: r for r in fig7_rows(variances, active, {"rho_value": rho})}
    # The paper's Fig. 7b/c line: slope 2/(ρ+2) exactly, by construction.
    assert rows["eq29_vs_laplace"]["slope"] == pytest.approx(2 / (rho + 2))
    assert rows["trained_vs_laplace"]["slope"] == pytest.approx(0.3)
    assert rows["vi_vs_laplace"]["slope"] == pytest.approx(0.9)
    assert rows["trained_vs_vi"]["slope"] == pytest.approx(0.3 / 0.9)
    assert rows["trained_vs_vi"]["reference_slope"] == pytest.approx(0.8)
    assert rows["vi_vs_laplace"]["reference_slope"] == 1.0
    for row in rows.values():
        assert row["n_inactive"] == 100 and row["n_used"] == 500 and row["n_excluded"] == 100


def test_fig7_synapses_of_silent_units_are_excluded_even_with_a_rounding_hessian():
    from efficient_synapses.posterior.comparison import fig7_variances

    stats = _fig7_statistics(np.random.default_rng(3), 1.0, 0.5, dead_h=1e-30)
    _, active = fig7_variances(stats, None, 2, "minibatch", 1.0, 0.1)
    assert (~active).sum() == 20 * 5


def test_fig7_variances_refuse_a_posterior_of_another_shape():
    from efficient_synapses.posterior.comparison import fig7_variances

    stats = _fig7_statistics(np.random.default_rng(1), 1.0, 0.5)
    with pytest.raises(ValueError, match="not the same network"):
        fig7_variances(stats, np.ones((30, 20)), 2, "minibatch", 1.0, 0.1)


def test_figure7_data_draws_a_real_pair_of_active_synapses_of_each_network():
    from efficient_synapses.posterior.comparison import figure7_data

    rng = np.random.default_rng(2)
    networks, stats, sds = [], [], []
    for seed in (0, 1):
        for rho in (0.5, 2.0):
            s = _fig7_statistics(rng, rho, 2 / (rho + 2))
            networks.append(
                {"rho": str(rho), "rho_value": rho, "c_factor": 1.0, "c": 0.1, "seed": seed}
            )
            stats.append(s)
            sds.append(np.full((20, 30), 0.1))
    rows, arrays = figure7_data(networks, stats, sds, 2, "minibatch", scatter_points=50)
    assert len(rows) == 4 * 4  # networks x comparisons
    for k in (0, 1):  # the first seed's networks are drawn
        pair = arrays[f"net{k}_pair_index"]
        assert (pair % 30 >= 5).all()  # presynaptic units 0-4 are dead
        hessian = stats[k]["hessian_minibatch_layer2"].ravel()[pair]
        np.testing.assert_allclose(arrays[f"net{k}_pair_laplace"], 1 / hessian)
        assert arrays[f"net{k}_laplace"].size == 50
    assert "net2_meta" not in arrays


def test_a_layer_without_two_active_synapses_has_no_pair_to_draw():
    from efficient_synapses.posterior.comparison import illustrative_pair

    # Median and 95th percentile of H among the active synapses, always two distinct ones.
    assert illustrative_pair(np.array([1.0, 5.0, 3.0]), np.array([True, True, True])) == [2, 1]
    assert illustrative_pair(np.array([1.0, 5.0, 3.0]), np.array([True, False, True])) == [0, 2]
    hessian = np.arange(101.0)
    assert illustrative_pair(hessian, np.ones(101, bool)) == [50, 95]
    with pytest.raises(ValueError, match="only 1 synapse"):
        illustrative_pair(np.ones(3), np.array([True, False, False]))


def test_posterior_fit_starts_from_the_trained_means_and_a_homogeneous_sigma(tmp_path, mnist_raw):
    """Unit identity: with a negligible learning rate the fitted μ is the trained network's."""
    from efficient_synapses.artefacts import load_params
    from efficient_synapses.training.jobs import run_posterior_fit
    from efficient_synapses.training.params import save_params

    training = {
        "layer_sizes": [784, 6, 10],
        "epochs": 1,
        "batch_size": 20,
        "learning_rate": 1e-9,
        "sigma_learning_rate": 1e-9,
        "magnitude_lambda": 1e-4,
        "mu_init_range": 0.1,
        "sigma_init": 0.03,
        "dtype": "float32",
        "device": "cpu",
        "cuda_graph": False,
        "train_subset": 100,
        "test_subset": 50,
        "eval_batch_size": 50,
    }
    starts = []
    for seed in (5, 6):  # two "trained" networks: other seeds, wide σ
        trained = StochasticMLP([784, 6, 10], ["heterogeneous"], [seed], 0.5, sigma_init=0.4)
        save_params(trained, 0, tmp_path / f"trained{seed}.pt")
        starts.append(tmp_path / f"trained{seed}.pt")
    out_dirs = [tmp_path / "a", tmp_path / "b"]
    metrics = run_posterior_fit(
        0,
        training,
        {"prior": "laplace"},
        mnist_raw,
        out_dirs,
        log=lambda _: None,
        start_from=starts,
    )
    for start, out, m in zip(starts, out_dirs, metrics, strict=True):
        fitted, trained = load_params(out / "posterior.pt"), load_params(start)
        for layer in range(2):
            torch.testing.assert_close(fitted["mu_weight"][layer], trained["mu_weight"][layer])
            torch.testing.assert_close(fitted["mu_bias"][layer], trained["mu_bias"][layer])
            sd = fitted["sigma_weight"][layer]
            torch.testing.assert_close(sd, torch.full_like(sd, 0.03), rtol=1e-4, atol=0)
        assert m["mu_correlation_with_start"] == pytest.approx(1.0)
        # the scale-free basin check, per layer: the fit stayed where it started
        assert len(m["mu_relative_change"]) == 2
        assert all(0 <= d < 1e-4 for d in m["mu_relative_change"])
        assert m["start_from"] == str(start) and (out / "metrics.json").is_file()


def test_a_posterior_fit_does_not_replay_its_networks_data_order(tmp_path, mnist_raw, monkeypatch):
    """The fit has the network's seed; with the training stream it would see the network's
    very minibatch sequence (a shared path, as the noise stream was). It must not."""
    import efficient_synapses.training.engine as engine
    from efficient_synapses.artefacts import NetworkSpec
    from efficient_synapses.training.jobs import (
        POSTERIOR_DATA_STREAM,
        run_posterior_fit,
        run_training,
    )

    orders = {}
    original = engine.epoch_permutation

    def spy(seed, epoch, n, stream=0):
        order = original(seed, epoch, n, stream)
        orders.setdefault(stream, []).append(order)
        return order

    monkeypatch.setattr(engine, "epoch_permutation", spy)
    training = {
        "layer_sizes": [784, 6, 10], "epochs": 2, "batch_size": 20, "learning_rate": 1e-3,
        "sigma_learning_rate": None, "magnitude_lambda": 1e-4, "mu_init_range": 0.1,
        "sigma_init": 0.03, "dtype": "float32", "device": "cpu", "cuda_graph": False,
        "train_subset": 100, "test_subset": 50, "eval_batch_size": 50,
        "history_test_every": 0,
    }  # fmt: skip
    run_training([NetworkSpec("heterogeneous", "2", 0.1, 3)], training, mnist_raw,
                 [tmp_path / "net"], log=lambda _: None)  # fmt: skip
    run_posterior_fit(3, training, {"prior": "laplace"}, mnist_raw, [tmp_path / "fit"],
                      log=lambda _: None, start_from=[tmp_path / "net" / "params.pt"])  # fmt: skip
    assert set(orders) == {0, POSTERIOR_DATA_STREAM}
    network, fit = orders[0], orders[POSTERIOR_DATA_STREAM]
    assert len(network) == len(fit) == 2
    assert all(not torch.equal(a, b) for a, b in zip(network, fit, strict=True))
    # the same seed and stream give the same order (the fit is reproducible)
    assert torch.equal(original(3, 0, 100, POSTERIOR_DATA_STREAM), fit[0])


def test_bound_rows_hold_and_tighten_towards_rho_zero():
    from efficient_synapses.costs import c_from_s
    from efficient_synapses.posterior.comparison import bound_rows

    sigma = np.geomspace(1e-4, 1.0, 50)
    rho, s = 2.0, 0.01
    rows = bound_rows(sigma, {"rho_value": rho, "c": c_from_s(s, rho)})
    assert rows[0]["own_rho"] and rows[0]["s"] == pytest.approx(s)
    assert all(r["bound_holds"] for r in rows)
    gaps = [r["mean_gap"] for r in rows]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-2 * gaps[0]
    # C_BI - C_VI by hand for one synapse (Eq. 41, 44).
    one = bound_rows(np.array([0.1]), {"rho_value": rho, "c": c_from_s(s, rho)})[0]
    c_vi = -0.5 * math.log(2 * math.pi * math.e * 0.1**2)
    c_bi = ((s / 0.1) ** rho - 1) / rho - 0.5 * math.log(2 * math.pi * math.e * s**2)
    assert one["C_VI"] == pytest.approx(c_vi) and one["C_BI"] == pytest.approx(c_bi)


def test_per_synapse_bound_is_above_the_entropic_cost_and_tight_at_s_eq53():
    from efficient_synapses.costs import biological_bound_per_synapse, entropic_cost_per_synapse

    sigma = torch.tensor([0.01, 0.1, 1.0], dtype=torch.float64)
    gap = biological_bound_per_synapse(sigma, 1.0, 0.1) - entropic_cost_per_synapse(sigma)
    assert (gap >= 0).all() and gap[1] == pytest.approx(0.0, abs=1e-12)  # σ = s: Eq. 53


def test_nohidden_rows_give_the_analytic_slopes_of_eq54():
    from efficient_synapses.posterior.comparison import nohidden_rows

    rng = np.random.default_rng(1)
    rho = 2.0
    x_squared = np.exp(rng.normal(0, 1, size=784))
    hessian = np.exp(rng.normal(0, 0.3, size=(10, 784))) * x_squared
    sigma_squared = (1e-3 / hessian) ** (2 / (rho + 2))  # Eq. 29
    statistics = {
        "sigma_squared_layer1": sigma_squared,
        "input_sq_layer1": x_squared,
        "learning_rate_minibatch_layer1": 1e-3 / np.sqrt(hessian),  # Eq. 7 with <g²> = H
    }
    rows = nohidden_rows(
        statistics, hessian**-0.5, {"rho_value": rho}, "minibatch", "learning_rate"
    )
    fitted = {r["quantity"]: r for r in rows}
    assert fitted["learning_rate"]["slope"] == pytest.approx(4 / (rho + 2))
    assert fitted["posterior_variance"]["slope"] == pytest.approx(2 / (rho + 2))
    # <x²> explains only part of H here, so its slope is near, not equal to, -2/(ρ+2).
    assert fitted["input_sq"]["slope"] == pytest.approx(-2 / (rho + 2), abs=0.1)
    for r in rows:
        assert r["analytic_slope"] == pytest.approx(
            {"learning_rate": 1.0, "input_sq": -0.5, "posterior_variance": 0.5}[r["quantity"]]
        )


def test_nohidden_data_draws_the_first_seed_and_keeps_every_row():
    from efficient_synapses.posterior.comparison import nohidden_data, nohidden_rows
    from efficient_synapses.statistics import subsample

    rng = np.random.default_rng(3)
    networks, statistics = [], []
    for seed in (4, 7):
        for rho in ("1/2", "2"):
            networks.append({"rho": rho, "rho_value": float(Fraction(rho)), "seed": seed})
            statistics.append(
                {
                    "sigma_squared_layer1": np.exp(rng.normal(size=(10, 30))),
                    "input_sq_layer1": np.exp(rng.normal(size=30)),
                    "learning_rate_abs_minibatch_layer1": np.exp(rng.normal(size=(10, 30))),
                }
            )
    posterior_sd = {seed: np.exp(rng.normal(size=(10, 30))) for seed in (7, 4)}
    args = ("minibatch", "learning_rate_abs")
    rows, arrays = nohidden_data(networks, statistics, posterior_sd, *args, 50, scatter_seed=5)
    expected = []
    for network, stats in zip(networks, statistics, strict=True):
        expected += nohidden_rows(stats, posterior_sd[network["seed"]], network, *args)
    assert rows == expected
    keep = subsample(300, 50, 5)
    for k in (0, 1):  # seed 4, the first, is drawn
        stats = statistics[k]
        np.testing.assert_array_equal(
            arrays[f"net{k}_sigma_squared"], stats["sigma_squared_layer1"].ravel()[keep]
        )
        np.testing.assert_array_equal(
            arrays[f"net{k}_learning_rate"],
            stats["learning_rate_abs_minibatch_layer1"].ravel()[keep],
        )
        x_squared = np.broadcast_to(stats["input_sq_layer1"], (10, 30)).ravel()[keep]
        np.testing.assert_array_equal(arrays[f"net{k}_input_sq"], x_squared)
        variance = (posterior_sd[4] ** 2).ravel()[keep]
        np.testing.assert_array_equal(arrays[f"net{k}_posterior_variance"], variance)
        assert str(arrays[f"net{k}_rho"]) == networks[k]["rho"]
    assert not any(key.startswith(("net2_", "net3_")) for key in arrays)


# --- Appendix 4: the toy regression --------------------------------------------------


def test_toy_data_are_seeded_and_cover_the_stated_intervals():
    from efficient_synapses.posterior.toy_regression import make_data, true_function

    intervals = [[-2.0, -1.2], [-0.5, 0.3]]
    a = make_data(intervals, 200, 0.05, seed=3)
    b = make_data(intervals, 200, 0.05, seed=3)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.inputs, make_data(intervals, 200, 0.05, seed=4).inputs)
    x = a.inputs[:, 0].numpy()
    inside = [(x >= low) & (x <= high) for low, high in intervals]
    assert np.all(inside[0] | inside[1])
    assert inside[0].sum() == 200 and inside[1].sum() == 200
    for low, high in intervals:  # covered end to end, not just somewhere inside
        chosen = x[(x >= low) & (x <= high)]
        assert chosen.min() - low < 0.05 and high - chosen.max() < 0.05
    residual = a.labels.numpy() - true_function(x)
    assert abs(residual.std() - 0.05) < 0.01 and abs(residual.mean()) < 0.01


def test_toy_fits_give_wider_predictions_away_from_the_data_for_vi():
    from efficient_synapses.posterior.toy_regression import fit_toy_models

    settings = {
        "hidden_units": 20,
        "noise_sd": 0.05,
        "intervals": [[-2.0, -1.2], [-0.5, 0.3]],
        "points_per_interval": 20,
        "x_range": [-2.5, 1.0],
        "s_values": [0.01],
        "epochs": 600,
        "learning_rate": 1e-2,
        "sigma_init": 1e-2,
        "predictive_samples": 100,
        "seed": 0,
    }
    rows, arrays = fit_toy_models(
        settings, ["1/2"], [0.5], "laplace", 1e4, 1e-4, log=lambda _: None
    )
    assert arrays["energy_mean"].shape == (1, 1, arrays["grid"].size)
    vi = rows[0]
    assert vi["fit"] == "variational Bayes"
    assert vi["predictive_sd_unobserved"] > vi["predictive_sd_observed"]
    assert np.all(np.isfinite(arrays["vi_mean"])) and np.all(arrays["vi_sd"] > 0)


@pytest.mark.parametrize("noise_streams", ["per_network", "shared"])
def test_posterior_fit_never_shares_noise_with_the_trained_network(noise_streams):
    """A variational fit compared with a trained network of the same seed must not replay
    that network's noise draws: shared ξ would correlate the two σ by construction."""
    from efficient_synapses.training.engine import noise_generators
    from efficient_synapses.training.jobs import NetworkSpec, noise_seed_for, posterior_noise_seed
    from efficient_synapses.training.model import StochasticMLP

    def first_draws(generators):
        generator = getattr(generators, "generators", [generators])[0]
        return torch.randn(5, generator=generator)

    for seed in (0, 1, 2):
        model = StochasticMLP([4, 3], ["heterogeneous"], [seed])
        spec = NetworkSpec("heterogeneous", "1/2", 0.1, seed)
        training = noise_generators(model, noise_streams, noise_seed_for([spec], noise_streams))
        fit = noise_generators(model, noise_streams, posterior_noise_seed(seed, noise_streams))
        assert not torch.equal(first_draws(training), first_draws(fit)), (seed, noise_streams)


def test_expected_nlpd_by_hand():
    from efficient_synapses.posterior.toy_regression import expected_nlpd

    eps = 0.05
    # a perfect mean and no weight noise: the density of the observation noise alone
    exact = expected_nlpd(np.array([1.0]), np.array([0.0]), np.array([1.0]), eps)
    assert exact[0] == pytest.approx(0.5 * np.log(2 * np.pi * eps**2) + 0.5)
    # a mean off by 0.1 with sd 0.1: v = 0.01 + 0.0025
    off = expected_nlpd(np.array([1.1]), np.array([0.1]), np.array([1.0]), eps)
    v = 0.01 + eps**2
    assert off[0] == pytest.approx(0.5 * np.log(2 * np.pi * v) + (0.01 + eps**2) / (2 * v))
