"""Stochastic synapses: reparameterisation, homogeneous noise, groups of networks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from efficient_synapses.training.model import StochasticMLP, inverse_softplus, softplus
from efficient_synapses.training.objectives import EnergyEfficientObjective, performance_cost


def test_inverse_softplus():
    for sigma in (1e-4, 1e-2, 0.5, 3.0):
        assert F.softplus(torch.tensor(inverse_softplus(sigma), dtype=torch.float64)).item() == (
            pytest.approx(sigma, rel=1e-9)
        )


def test_inverse_softplus_of_a_tensor_is_elementwise_in_float64():
    sigma = torch.tensor([1e-6, 1e-4, 0.5, 3.0], dtype=torch.float32)
    phi = inverse_softplus(sigma)
    assert phi.dtype == torch.float64
    for value, p in zip(sigma.double().tolist(), phi.tolist(), strict=True):
        assert p == inverse_softplus(value)
    torch.testing.assert_close(F.softplus(phi), sigma.double(), rtol=1e-12, atol=0)


def test_softplus_matches_torch_with_its_gradient():
    phi = torch.linspace(-40, 40, 161, dtype=torch.float64, requires_grad=True)
    ours = softplus(phi)
    reference = F.softplus(phi, threshold=1000)
    assert torch.allclose(ours, reference, rtol=1e-12, atol=0)
    (g_ours,) = torch.autograd.grad(ours.sum(), phi)
    (g_ref,) = torch.autograd.grad(reference.sum(), phi)
    assert torch.allclose(g_ours, g_ref, rtol=1e-12, atol=1e-300)
    assert torch.autograd.gradcheck(softplus, (phi[::20].detach().requires_grad_(),))


def test_initialisation_follows_methods():
    model = StochasticMLP([784, 100, 100, 10], ["heterogeneous"], [3], sigma_init=1e-4)
    for mu in model.mu_w:
        assert mu.abs().max() <= 0.1
        assert mu.min() < -0.09 and mu.max() > 0.09  # spans U(-0.1, 0.1)
    for sw, sb in model.sigmas():
        assert torch.allclose(sw, torch.full_like(sw, 1e-4), rtol=1e-4)
        assert torch.allclose(sb, torch.full_like(sb, 1e-4), rtol=1e-4)


def test_reparameterisation_moments():
    """w = μ + σ ξ: across many draws, mean μ and standard deviation σ."""
    model = StochasticMLP([3, 2], ["heterogeneous"], [0], sigma_init=0.3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    draws = torch.stack([model.sample_weights(gen)[0][0] for _ in range(20000)])
    mu = model.mu_w[0].detach()
    # standard error of the mean: 0.3 / sqrt(20000) ≈ 0.002
    assert torch.allclose(draws.mean(0), mu, atol=0.01)
    assert torch.allclose(draws.std(0), torch.full_like(mu, 0.3), atol=0.01)


def test_reparameterisation_gradients_flow_to_mu_and_phi():
    model = StochasticMLP([4, 3], ["heterogeneous"], [0], sigma_init=0.1)
    w, b = model.sample_weights(torch.Generator().manual_seed(0))[0]
    (w.sum() + b.sum()).backward()
    assert torch.allclose(model.mu_w[0].grad, torch.ones_like(model.mu_w[0]))
    assert model.phi_w[0].grad.abs().sum() > 0


def test_homogeneous_noise_shares_one_sigma():
    model = StochasticMLP([6, 5, 3], ["homogeneous"], [0], sigma_init=0.05)
    with torch.no_grad():
        model.phi_shared.fill_(inverse_softplus(0.2))
        model.phi_w[0].fill_(5.0)  # unused in the homogeneous setting
    sigmas = model.sigmas()
    every = torch.cat([t.flatten() for pair in sigmas for t in pair])
    assert torch.allclose(every, torch.full_like(every, 0.2))
    objective = EnergyEfficientObjective([1.0], [0.5], 1e-4, 100, 10)
    x, y = torch.randn(1, 10, 6), torch.randint(0, 3, (1, 10))
    objective(model, x, y, torch.Generator().manual_seed(0)).loss.sum().backward()
    assert model.phi_shared.grad.abs().item() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.phi_w)


def test_group_initialises_each_network_as_if_alone():
    alone = [StochasticMLP([8, 4, 3], ["heterogeneous"], [s]) for s in (5, 9)]
    group = StochasticMLP([8, 4, 3], ["heterogeneous", "homogeneous"], [5, 9])
    for k, single in enumerate(alone):
        for layer in range(2):
            assert torch.equal(group.mu_w[layer][k], single.mu_w[layer][0])
            assert torch.equal(group.mu_b[layer][k], single.mu_b[layer][0])


def test_group_forward_matches_individual_networks():
    group = StochasticMLP([8, 4, 3], ["heterogeneous", "heterogeneous"], [1, 2])
    x = torch.randn(5, 8)
    out = group(x)
    for k, seed in enumerate((1, 2)):
        single = StochasticMLP([8, 4, 3], ["heterogeneous"], [seed])
        assert torch.allclose(out[k], single(x)[0], atol=1e-6)


def test_mixed_group_costs_match_networks_alone():
    """Heterogeneous and homogeneous networks with their own c and ρ in one group."""
    specs = [("heterogeneous", 0.3, 0.5, 1), ("homogeneous", 2.0, 2.0, 2)]
    group = StochasticMLP([8, 4, 3], [s[0] for s in specs], [s[3] for s in specs], sigma_init=0.05)
    objective = EnergyEfficientObjective([s[1] for s in specs], [s[2] for s in specs], 0.01, 50, 5)
    reg = objective.regularisers(group, group.sigma_parts())
    for k, (noise, c, rho, seed) in enumerate(specs):
        single = StochasticMLP([8, 4, 3], [noise], [seed], sigma_init=0.05)
        single_obj = EnergyEfficientObjective([c], [rho], 0.01, 50, 5)
        single_reg = single_obj.regularisers(single, single.sigma_parts())
        for name in ("magnitude", "reliability"):
            assert reg[name][k].item() == pytest.approx(single_reg[name][0].item(), rel=1e-5)


def test_objective_matches_hand_computation():
    """Σ_batch CE + (B/N)(λ Σ|μ| + c Σ σ^-ρ), biases included as synapses."""
    torch.manual_seed(0)
    model = StochasticMLP([3, 2], ["heterogeneous"], [0], sigma_init=0.5, dtype=torch.float64)
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    y = torch.tensor([[0, 1, 1, 0]])
    c, rho, lam, n = 0.7, 2 / 3, 0.01, 40
    objective = EnergyEfficientObjective([c], [rho], lam, n, 4, dtype=torch.float64)
    value = objective(model, x, y, torch.Generator().manual_seed(3))
    # Redraw the same weights by hand.
    gen = torch.Generator().manual_seed(3)
    mu_w, mu_b = model.mu_w[0][0].detach(), model.mu_b[0][0].detach()
    w = mu_w + 0.5 * torch.randn((1, 2, 3), generator=gen, dtype=torch.float64)[0]
    b = mu_b + 0.5 * torch.randn((1, 2), generator=gen, dtype=torch.float64)[0]
    logits = x[0] @ w.T + b
    ce = -torch.log_softmax(logits, -1)[torch.arange(4), y[0]].sum()
    n_syn = 8
    magnitude = lam * (mu_w.abs().sum() + mu_b.abs().sum())
    reliability = c * n_syn * 0.5 ** (-rho)
    expected = ce + (4 / n) * (magnitude + reliability)
    assert value.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert value.parts["reliability"].item() == pytest.approx(reliability, rel=1e-6)


def test_performance_cost_is_summed_cross_entropy():
    logits = torch.zeros(1, 4, 10)
    labels = torch.zeros(1, 4, dtype=torch.long)
    assert performance_cost(logits, labels).item() == pytest.approx(4 * math.log(10))


def test_softplus_is_accurate_to_a_few_ulps_over_the_whole_range():
    # σ = softplus(φ) down to σ ~ 1e-13 (φ = -30), where 1 + e^φ rounds to 1 in float32
    phi = torch.linspace(-30.0, 30.0, 200_001)
    reference = F.softplus(phi.double(), threshold=100.0)
    ours = softplus(phi).double()
    assert ((ours - reference) / reference).abs().max() < 4 * torch.finfo(torch.float32).eps
