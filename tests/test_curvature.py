"""Synapse statistics (Fig. 5): Hessian, empirical Fisher, learning and input rates.

Checked against the paper's closed forms for a linear model with a Gaussian
likelihood (Appendix 2-3) and against plain autograd references.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from efficient_synapses.costs import c_from_s, optimal_sigma, reliability_cost
from efficient_synapses.data.raw import Dataset
from efficient_synapses.statistics import loglog_fit, spearman
from efficient_synapses.synapses.extract import (
    MeanWeightObjective,
    SynapseStatistics,
    extract_statistics,
    gaussian_performance_cost,
    hessian_diagonal,
    load_network,
    minibatch_cross_terms,
    network_hessian_diagonal,
    per_datapoint_gradients,
    relu_network_hessian_diagonal,
)
from efficient_synapses.synapses.tables import (
    curvature_rows,
    fisher_vs_hessian_rows,
    layer_quantities,
)
from efficient_synapses.training.model import StochasticMLP, softplus
from efficient_synapses.training.objectives import performance_cost
from efficient_synapses.training.params import save_params

NOISE_SD = 0.5  # ε of Eq. 19


def quiet(_message):
    pass


def linear_model(n_in=6, seed=0, dtype=torch.float64):
    """A one-layer network: logits = x w + b, i.e. the linear model of Eq. 19."""
    return StochasticMLP([n_in, 1], ["heterogeneous"], [seed], dtype=dtype)


def linear_data(model, n=400, seed=1, offset=0.0):
    """Inputs with different scales per input unit; targets y = x μ + b + ε n (Eq. 19).

    ``offset`` shifts targets and inputs so that the data no longer come from the
    model at μ (non-zero mean gradient).
    """
    gen = torch.Generator().manual_seed(seed)
    n_in = model.layer_sizes[0]
    scales = torch.linspace(0.2, 2.0, n_in, dtype=torch.float64)
    x = torch.randn(n, n_in, generator=gen, dtype=torch.float64) * scales
    with torch.no_grad():
        mean = model(x)[0, :, 0]
    noise = torch.randn(n, generator=gen, dtype=torch.float64) * NOISE_SD
    return Dataset(x + offset, mean + offset + noise)


def test_exact_hessian_of_linear_gaussian_model_is_eq26():
    """H_ii = Σ_t x_ti² / ε² (Eq. 26), through the network's exact-Hessian code path."""
    model = linear_model()
    data = linear_data(model)
    loss = gaussian_performance_cost(NOISE_SD)
    exact = network_hessian_diagonal(
        model, data.inputs, data.labels, 1, np.arange(6), loss, chunk_size=150, tangent_batch=4
    )
    eq26 = (data.inputs**2).sum(0).numpy() / NOISE_SD**2
    np.testing.assert_allclose(exact, eq26, rtol=1e-10)


def _autograd_hessian_diagonal(model, x, y, layer):
    """Diagonal of torch.autograd's full Hessian of the summed cross-entropy in one layer's
    weights, at w = μ, flattened (the reference for both exact-Hessian methods)."""
    means = [(w.detach(), b.detach()) for w, b in model.means()]

    def cost(weight):
        weights = list(means)
        weights[layer - 1] = (weight, means[layer - 1][1])
        return performance_cost(model(x, weights), y.unsqueeze(0)).sum()

    point = means[layer - 1][0]
    return torch.autograd.functional.hessian(cost, point).reshape(point.numel(), -1).diagonal()


@pytest.mark.parametrize("sizes", [[5, 4, 3], [4, 3, 3, 2]])
def test_exact_hessian_diagonal_matches_full_autograd_hessian(sizes):
    """The HVP diagonal of a ReLU network equals the diagonal of torch.autograd's full Hessian."""
    torch.manual_seed(0)
    model = StochasticMLP(sizes, ["heterogeneous"], [3], mu_init_range=1.0, dtype=torch.float64)
    x = torch.randn(30, sizes[0], dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (30,))
    for layer in range(1, len(sizes)):
        full = _autograd_hessian_diagonal(model, x, y, layer)
        indices = np.arange(full.numel())
        ours = network_hessian_diagonal(model, x, y, layer, indices, chunk_size=7, tangent_batch=5)
        np.testing.assert_allclose(ours, full.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("variant", ["methods", "released_code"])
@pytest.mark.parametrize("sizes", [[5, 4, 3], [4, 3, 3, 2], [6, 5, 4, 3, 3]])
def test_closed_form_hessian_diagonal_matches_full_autograd_hessian(sizes, variant):
    """The closed-form diagonal (piecewise-linear network, Gauss-Newton term) is the exact one."""
    torch.manual_seed(2)
    model = StochasticMLP(
        sizes, ["heterogeneous"], [5], mu_init_range=1.0, dtype=torch.float64, variant=variant
    )
    x = torch.randn(40, sizes[0], dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (40,))
    for layer in range(1, len(sizes)):
        full = _autograd_hessian_diagonal(model, x, y, layer)
        ours = relu_network_hessian_diagonal(model, x, y, layer, chunk_size=9)
        assert ours.shape == tuple(model.mu_w[layer - 1].shape[1:])
        np.testing.assert_allclose(ours.ravel(), full.numpy(), rtol=1e-9, atol=1e-12)
        assert (ours > 0).any()


def test_hessian_diagonal_of_a_known_quadratic():
    a = torch.tensor([[2.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 5.0]], dtype=torch.float64)
    values = hessian_diagonal(
        lambda v: 0.5 * v @ a @ v + v.sum() ** 3, torch.zeros(3, dtype=torch.float64), [2, 0]
    )
    np.testing.assert_allclose(values.numpy(), [5.0, 2.0])


def test_per_datapoint_gradients_match_autograd_one_at_a_time():
    torch.manual_seed(0)
    model = StochasticMLP([5, 4, 3], ["heterogeneous"], [0], mu_init_range=1.0)
    x, y = torch.randn(6, 5), torch.randint(0, 3, (6,))
    ours = per_datapoint_gradients(model, x, y)
    for t in range(6):
        model.zero_grad()
        performance_cost(model(x[t : t + 1]), y[t : t + 1].unsqueeze(0)).sum().backward()
        for layer, w in enumerate(model.mu_w):
            torch.testing.assert_close(ours[layer][t], w.grad[0])


def test_mean_squared_per_datapoint_gradient_approaches_hessian_eq31():
    """For data drawn from the model, N <g_t²> → H_ii (Eq. 31), through the statistics pass."""
    model = linear_model(n_in=4)
    # The relative sampling error of N <g_t²> is about sqrt(2 <x⁴>/N)/<x²> ≈ 1.7% here.
    data = linear_data(model, n=20000, seed=4)
    stats = extract_statistics(
        model, data, epochs=1, batch_size=50, eta_base=1e-3,
        loss=gaussian_performance_cost(NOISE_SD), log=quiet,
    )  # fmt: skip
    eq26 = (data.inputs**2).sum(0).numpy() / NOISE_SD**2
    fisher = stats["hessian_per_datapoint_layer1"].ravel()
    np.testing.assert_allclose(fisher, eq26, rtol=0.05)
    # At the data-generating weights the mean gradient vanishes, so the minibatch
    # estimate agrees too, up to its larger sampling noise (400 minibatches).
    np.testing.assert_allclose(stats["hessian_minibatch_layer1"].ravel(), eq26, rtol=0.25)
    # Eq. 7: η = η_base / sqrt(<g²>); input rate <|x|>.
    mean_sq = fisher / len(data)
    np.testing.assert_allclose(
        stats["learning_rate_per_datapoint_layer1"].ravel(), 1e-3 / np.sqrt(mean_sq)
    )


def test_minibatch_and_per_datapoint_squared_gradients_differ_by_cross_terms():
    """(Σ_t g_t)² = Σ_t g_t² + Σ_{t≠t'} g_t g_t', exactly, and ≈ B <g²> at the data's optimum."""
    model = linear_model(n_in=3)
    batch = 8
    data = linear_data(model, n=batch * 500, seed=3)
    loss = gaussian_performance_cost(NOISE_SD)
    objective = MeanWeightObjective(loss)
    hook = SynapseStatistics(objective)
    cross = torch.zeros(1, 3, dtype=torch.float64)
    for start in range(0, len(data), batch):
        idx = torch.arange(start, start + batch).unsqueeze(0)
        model.zero_grad()
        value = objective(model, data.inputs[idx], data.labels[idx])
        value.loss.sum().backward()
        hook(model, value, idx)
        g = per_datapoint_gradients(model, data.inputs[idx[0]], data.labels[idx[0]], loss)[0]
        cross += minibatch_cross_terms(g)
    s = hook.sums
    torch.testing.assert_close(s["sq_minibatch"][0], s["sq_per_datapoint"][0] + cross)
    # Independent datapoints at the generating weights: E[g] = 0, so the mean
    # squared minibatch gradient is B times the per-datapoint one.
    per_minibatch = s["sq_minibatch"][0] / hook.minibatches
    per_datapoint = s["sq_per_datapoint"][0] / hook.datapoints
    np.testing.assert_allclose((per_minibatch / per_datapoint).numpy(), batch, rtol=0.2)
    # Off the optimum, E[g] ≠ 0 and the cross terms dominate: the ratio is
    # B + B(B - 1) E[g]² / E[g²] in expectation.
    biased = linear_data(model, n=batch * 500, seed=4, offset=1.0)
    g = per_datapoint_gradients(model, biased.inputs, biased.labels, loss)[0]
    ratio = (g.reshape(-1, batch, 1, 3).sum(1).pow(2).mean(0) / g.pow(2).mean(0)).numpy()
    expected = (batch + batch * (batch - 1) * g.mean(0).pow(2) / g.pow(2).mean(0)).numpy()
    np.testing.assert_allclose(ratio, expected, rtol=0.3)
    assert (ratio > 2 * batch).any()


@pytest.mark.parametrize("rho", [0.5, 2.0 / 3.0, 4.0 / 3.0, 2.0])
@pytest.mark.parametrize("expectation", ["analytic", "sampled"])
def test_optimising_sigma_on_a_quadratic_cost_gives_eq29(rho, expectation):
    """σ_i minimising E[½ Σ H_ii (w_i - μ_i)²] + c Σ σ_i^-ρ, c = s^ρ/ρ, is (s^ρ/H_ii)^(1/(ρ+2))."""
    s = 0.1
    hessian = torch.tensor([0.5, 2.0, 10.0, 100.0], dtype=torch.float64)
    c = c_from_s(s, rho)
    phi = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([phi], lr=0.05)
    gen = torch.Generator().manual_seed(0)
    for _ in range(1500):
        optimiser.zero_grad()
        sigma = softplus(phi)
        if expectation == "analytic":  # Eq. 24-25: E[(w - μ)²] = σ²
            performance = 0.5 * (hessian * sigma**2).sum()
        else:  # reparameterised samples w - μ = σ ξ, as in training
            xi = torch.randn(256, 4, generator=gen, dtype=torch.float64)
            performance = 0.5 * (hessian * (sigma * xi) ** 2).sum(1).mean()
        (performance + reliability_cost(sigma, c, rho)).backward()
        optimiser.step()
    expected = optimal_sigma(hessian, rho, s).numpy()
    rtol = 1e-3 if expectation == "analytic" else 0.05
    np.testing.assert_allclose(softplus(phi).detach().numpy(), expected, rtol=rtol)


def test_input_rates_are_the_mean_presynaptic_activity():
    torch.manual_seed(0)
    model = StochasticMLP([6, 5, 4, 3], ["heterogeneous"], [0], mu_init_range=0.5)
    data = Dataset(torch.randn(40, 6), torch.randint(0, 3, (40,)))
    stats = extract_statistics(model, data, epochs=2, batch_size=8, eta_base=1e-3, log=quiet)
    with torch.no_grad():
        activity = []
        model(data.inputs, record_activity=activity)
    for layer, h in enumerate(activity, start=1):
        direct = h[0].abs().mean(0).double().numpy()
        np.testing.assert_allclose(stats[f"input_rate_layer{layer}"], direct, rtol=1e-6)
        squares = h[0].pow(2).mean(0).double().numpy()
        np.testing.assert_allclose(stats[f"input_sq_layer{layer}"], squares, rtol=1e-6)
    # Hidden inputs are ReLU outputs: <|x|> = <x>; a unit that never fires has rate 0
    # and its synapses have zero gradient, hence an infinite learning rate.
    dead = stats["input_rate_layer2"] == 0
    assert np.all(stats["hessian_minibatch_layer2"][:, dead] == 0)
    assert np.all(np.isinf(stats["learning_rate_minibatch_layer2"][:, dead]))


def test_deterministic_statistics_need_one_epoch_minibatch_ones_do_not():
    """At w = μ the per-datapoint gradients repeat every epoch; minibatch ones change."""
    torch.manual_seed(0)
    model = StochasticMLP([6, 5, 3], ["heterogeneous"], [0], mu_init_range=0.5)
    data = Dataset(torch.randn(40, 6), torch.randint(0, 3, (40,)))
    one, three = (
        extract_statistics(model, data, epochs=e, batch_size=8, eta_base=1e-3, log=quiet)
        for e in (1, 3)
    )
    for key in ("hessian_per_datapoint_layer1", "input_rate_layer2", "input_sq_layer1"):
        np.testing.assert_allclose(three[key], one[key], rtol=1e-12)
    assert not np.allclose(three["hessian_minibatch_layer1"], one["hessian_minibatch_layer1"])


@pytest.mark.parametrize("noise", ["heterogeneous", "homogeneous"])
def test_params_round_trip_through_loader(tmp_path, noise):
    torch.manual_seed(0)
    model = StochasticMLP([6, 5, 3], [noise], [4], sigma_init=0.05)
    with torch.no_grad():
        for phi in [*model.phi_w, *model.phi_b]:
            phi.add_(torch.randn_like(phi))
        model.phi_shared.add_(0.3)
        for mu in model.mu_w:
            mu.mul_(3.0)
    save_params(model, 0, tmp_path / "params.pt")
    loaded = load_network(tmp_path / "params.pt", seed=4)
    assert loaded.noise == (noise,) and loaded.seeds == (4,)
    for (mw, mb), (lw, lb) in zip(model.means(), loaded.means(), strict=True):
        torch.testing.assert_close(lw, mw)
        torch.testing.assert_close(lb, mb)
    for (sw, sb), (lw, lb) in zip(model.sigmas(), loaded.sigmas(), strict=True):
        torch.testing.assert_close(lw, sw, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(lb, sb, rtol=1e-5, atol=1e-7)


def test_spearman_and_loglog_fit():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, 200).astype(float)  # with ties
    y = x + rng.normal(0, 3, 200)
    assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    h = np.concatenate([10 ** rng.uniform(-3, 3, 100), [0.0, 0.0, np.inf]])
    with np.errstate(divide="ignore"):
        fit = loglog_fit(h, 5.0 * h ** (-0.5))
    assert fit["n_excluded"] == 3 and fit["n_used"] == 100
    assert fit["slope"] == pytest.approx(-0.5)
    assert fit["intercept"] == pytest.approx(np.log10(5.0))
    assert fit["spearman_r"] == pytest.approx(-1.0)


def test_statistics_tables_from_a_small_network():
    torch.manual_seed(0)
    model = StochasticMLP([6, 5, 4, 3], ["heterogeneous"], [0], mu_init_range=0.5, sigma_init=0.1)
    with torch.no_grad():
        for phi in model.phi_w:
            phi.add_(torch.randn_like(phi))
    data = Dataset(torch.randn(40, 6), torch.randint(0, 3, (40,)))
    stats = extract_statistics(model, data, epochs=1, batch_size=8, eta_base=1e-3, log=quiet)
    from efficient_synapses.synapses.extract import exact_hessian_subset

    stats |= exact_hessian_subset(
        model, data, [1, 3], max_synapses=10, max_examples=None, log=quiet
    )
    network = {
        "noise": "heterogeneous",
        "rho": "2",
        "rho_value": 2.0,
        "c_factor": 1.0,
        "c": 1.0,
        "seed": 0,
    }
    rows = curvature_rows(stats, network)
    # 3 layers x (2 gradient modes x (3 gradient quantities + importance vs input rate)
    # + 1 input rate)
    assert len(rows) == 3 * 9
    assert all(r["n_synapses"] == r["n_used"] + r["n_excluded"] for r in rows)
    importance = [r for r in rows if r["quantity"] == "importance_vs_input_rate"]
    assert len(importance) == 6
    q = layer_quantities(stats, 2, "minibatch")
    keep = (q["input_rate"] > 0) & (q["hessian"] > 0)
    expected = spearman(np.log10(q["input_rate"][keep]), np.log10(q["hessian"][keep]))
    [row] = [r for r in importance if r["layer"] == 2 and r["gradient"] == "minibatch"]
    assert row["spearman_r"] == pytest.approx(expected)
    checks = fisher_vs_hessian_rows(stats, network)
    assert [(r["layer"], r["gradient"]) for r in checks] == [
        (1, "minibatch"), (1, "per_datapoint"), (3, "minibatch"), (3, "per_datapoint"),
    ]  # fmt: skip
    assert all(r["n_synapses"] == 10 for r in checks)
    # Appendix 3 on the exact diagonal: σ² and the learning rate η_base/<|g|> against H_ii
    first = checks[0]
    index = stats["exact_hessian_index_layer1"]
    exact = stats["exact_hessian_layer1"]
    sigma_squared = stats["sigma_squared_layer1"].ravel()[index]
    positive = exact > 0
    assert first["n_exact_positive"] == int(positive.sum())
    assert first["spearman_sigma_squared_exact"] == pytest.approx(
        spearman(sigma_squared[positive], exact[positive])
    )
    assert np.isfinite(first["spearman_learning_rate_abs_exact"])
    from efficient_synapses.synapses.extract import layer_summary

    summary = layer_summary(stats)
    assert [entry["layer"] for entry in summary] == [1, 2, 3]
    for entry, sizes in zip(summary, [(5, 6), (4, 5), (3, 4)], strict=True):
        assert entry["synapses"] == sizes[0] * sizes[1]
        sigma_squared = stats[f"sigma_squared_layer{entry['layer']}"]
        assert entry["sigma_squared_median"] == float(np.median(sigma_squared))
        rates = stats[f"input_rate_layer{entry['layer']}"]
        assert entry["silent_presynaptic_units"] == int((rates == 0).sum())
        for mode in ("minibatch", "per_datapoint"):
            hessian = stats[f"hessian_{mode}_layer{entry['layer']}"]
            assert entry[f"zero_gradient_synapses_{mode}"] == int((hessian == 0).sum())


@pytest.mark.parametrize("variant", ["methods", "released_code"])
def test_per_datapoint_sums_of_the_statistics_hook_match_per_datapoint_gradients(variant):
    # The hook forms Σ_t g_t² and Σ_t |g_t| from the layer outputs' gradients (g_t = δ_t x_tᵀ);
    # they must equal the sums of the gradients of each datapoint's cost taken alone.
    torch.manual_seed(1)
    model = StochasticMLP(
        [6, 5, 4, 3], ["heterogeneous"], [0], mu_init_range=1.0, dtype=torch.float64,
        variant=variant,
    )  # fmt: skip
    objective = MeanWeightObjective()
    hook = SynapseStatistics(objective)
    x, y = torch.randn(2, 7, 6, dtype=torch.float64), torch.randint(0, 3, (2, 7))
    expected_sq = [torch.zeros(w.shape[1:], dtype=torch.float64) for w in model.mu_w]
    expected_abs = [torch.zeros(w.shape[1:], dtype=torch.float64) for w in model.mu_w]
    for batch in range(2):
        model.zero_grad()
        value = objective(model, x[batch], y[batch].unsqueeze(0))
        value.loss.sum().backward()
        hook(model, value, torch.arange(batch * 7, batch * 7 + 7).unsqueeze(0))
        for layer, g in enumerate(per_datapoint_gradients(model, x[batch], y[batch])):
            expected_sq[layer] += (g * g).sum(0)
            expected_abs[layer] += g.abs().sum(0)
    for layer in range(3):
        torch.testing.assert_close(hook.sums["sq_per_datapoint"][layer], expected_sq[layer])
        torch.testing.assert_close(hook.sums["abs_per_datapoint"][layer], expected_abs[layer])
    assert hook.datapoints == 14


def test_occupied_range_leaves_out_the_tails_and_counts_them():
    """A few synapses with a vanishing H would stretch Figure 5's x axis over decades:
    the axes span the 1st-99th percentile and say how many lie beyond."""
    from efficient_synapses.figures.style import occupied_range

    bulk = np.geomspace(1.0, 100.0, 998)
    values = np.concatenate([bulk, [1e-40, 1e30], [0.0, np.nan, -1.0]])
    lo, hi, outside, total = occupied_range([values])
    assert total == 1000  # zero, NaN and negative values are not positions on a log axis
    assert 1.0 <= lo < 1.1 and 90.0 < hi <= 100.0  # inside the bulk, far from 1e-40, 1e30
    # the two outliers and the bulk's own 1 % tails: 10 values below lo, 10 above hi
    assert outside == int(((bulk < lo) | (bulk > hi)).sum()) + 2 == 20
    with pytest.raises(ValueError, match="no positive finite value"):
        occupied_range([np.array([0.0, np.nan])])


def test_figure5_panel_clips_x_and_reports_the_synapses_beyond():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from efficient_synapses.figures.synapses import _pattern_panel

    rng = np.random.default_rng(0)
    h = np.concatenate([10 ** rng.uniform(-2, 2, 500), [1e-44]])
    sigma_squared = 1e-3 * h**-0.5
    rows = pd.DataFrame(
        {"seed": [0], "slope": [-0.5], "intercept": [-3.0], "spearman_r": [-1.0], "n_used": [501]}
    )
    fig, ax = plt.subplots()
    text = _pattern_panel(ax, h, sigma_squared, rows, 0, "hessian", 1000, 0)
    low, high = ax.get_xlim()
    assert low > 1e-3 and high < 1e3  # the 1e-44 synapse no longer sets the axis
    assert "beyond the 1st-99th percentile of x" in text
    assert ax.get_ylim()[1] < 1.0  # nor its σ² = 1e19 the y axis
    plt.close(fig)
