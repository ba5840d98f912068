"""The training step by formula (``fused``) against autograd through the whole objective.

With the same noise (the engine draws it from the same streams on both paths), 100 steps
by formula must land where 100 autograd steps land, to float64 rounding in float64 and to
float32 rounding in float32, in every noise form, variant, objective, group size and
backend (numba on the CPU, the PyTorch formulas that CUDA runs).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from efficient_synapses.data.raw import Dataset
from efficient_synapses.training import fused
from efficient_synapses.training.engine import TrainOptions, train
from efficient_synapses.training.model import StochasticMLP
from efficient_synapses.training.objectives import EnergyEfficientObjective, VariationalObjective
from efficient_synapses.training.regulariser import CHUNK, regulariser_of

SIZES = [12, 10, 8, 3]
BACKENDS = ["numba", "torch"] if fused.numba_available() else ["torch"]


def _data(dtype, n=100):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, SIZES[0], generator=gen, dtype=torch.float64)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return Dataset(x.to(dtype), y)


def _group(noise, dtype, form="methods", objective="energy"):
    k = len(noise)
    model = StochasticMLP(
        SIZES, noise, list(range(k)), sigma_init=0.05, dtype=dtype, variant=form,
        mu_init_range=0.5,
    )  # fmt: skip
    if objective == "energy":
        rhos = [0.5, 2.0, 2.0 / 3.0, 4.0 / 3.0, 1.0][:k]
        cs = [1e-3, 1e-2, 1e-3, 1e-2, 3e-3][:k]
        obj = EnergyEfficientObjective(cs, rhos, 1e-2, 100, 10, dtype=dtype)
    else:
        obj = VariationalObjective(objective, 2.0, 100, 10)
    return model, obj


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()]).double()


def _train(noise, dtype, step, backend="auto", form="methods", objective="energy", epochs=10):
    model, obj = _group(noise, dtype, form, objective)
    options = TrainOptions(
        epochs, 10, 1e-2, sigma_learning_rate=3e-2, step=step, fused_backend=backend,
        on_non_finite="isolate",
    )  # fmt: skip
    history = train(model, obj, _data(dtype), options, log=lambda _m: None)
    return model, history


# float64: rounding ~1e-16, a few orders amplified by 100 steps; float32: rounding ~6e-8
# per step, amplified where a ReLU unit flips for a rounding-sized change (measured: a
# 1-ulp change of the initial μ moves parameters by up to 5e-5 after 100 steps).
TOLERANCE = {torch.float64: 1e-9, torch.float32: 5e-4}

GROUPS = {
    "heterogeneous": ["heterogeneous"] * 3,
    "homogeneous": ["homogeneous"] * 2,
    "mixed": ["heterogeneous", "homogeneous", "heterogeneous", "homogeneous"],
    "alone": ["heterogeneous"],
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("form", ["methods", "released_code"])
def test_100_steps_by_formula_equal_100_autograd_steps(backend, dtype, group, form):
    reference, ref_history = _train(GROUPS[group], dtype, "autograd", form=form)
    model, history = _train(GROUPS[group], dtype, "fused", backend, form=form)
    assert history.step_path == ref_history.step_path == "eager"
    diff = (_flat(model) - _flat(reference)).abs().max().item()
    assert diff <= TOLERANCE[dtype], diff
    # the logged losses and parts agree too (their sums are in float64 on the fused path)
    rtol = 1e-9 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(history.loss, ref_history.loss, rtol=rtol)
    for mine, theirs in zip(history.parts, ref_history.parts, strict=True):
        for name in theirs:
            np.testing.assert_allclose(mine[name], theirs[name], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("prior", ["laplace", "gaussian"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_the_variational_objective_by_formula_equals_autograd(backend, prior, dtype):
    noise = ["heterogeneous"] * 2
    reference, ref_history = _train(noise, dtype, "autograd", objective=prior)
    model, history = _train(noise, dtype, "fused", backend, objective=prior)
    diff = (_flat(model) - _flat(reference)).abs().max().item()
    assert diff <= TOLERANCE[dtype], diff
    rtol = 1e-9 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(history.loss, ref_history.loss, rtol=rtol)


def test_a_group_by_formula_trains_each_network_as_alone():
    """Per-network noise streams and data orders: network k's parameters do not depend on
    its group (float64, to rounding)."""
    noise = ["heterogeneous", "homogeneous", "heterogeneous"]
    group, _ = _train(noise, torch.float64, "fused")
    for k, setting in enumerate(noise):
        model, obj = _group(noise, torch.float64)
        alone_model = StochasticMLP(SIZES, [setting], [k], sigma_init=0.05,
                                    dtype=torch.float64, mu_init_range=0.5)  # fmt: skip
        alone_obj = EnergyEfficientObjective(
            [obj.c[k].item()], [obj.rho[k].item()], 1e-2, 100, 10, dtype=torch.float64
        )
        options = TrainOptions(10, 10, 1e-2, sigma_learning_rate=3e-2)
        train(alone_model, alone_obj, _data(torch.float64), options, log=lambda _m: None)
        mine = torch.cat([p[k].flatten() for p in [*group.mu_w, *group.phi_w]])
        alone = torch.cat([p[0].flatten() for p in [*alone_model.mu_w, *alone_model.phi_w]])
        assert torch.allclose(mine, alone, rtol=0, atol=1e-12)


def test_an_objective_the_fused_step_does_not_know_trains_by_autograd():
    model, obj = _group(["heterogeneous"], torch.float64)

    class Wrapped:
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, *args):
            return self.inner(*args)

    options = TrainOptions(1, 10, 1e-2)
    assert regulariser_of(Wrapped(obj), model) is None
    assert regulariser_of(obj, model) is not None
    train(model, Wrapped(obj), _data(torch.float64), options, log=lambda _m: None)


# --- the pieces, by hand -----------------------------------------------------------------


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba is not installed")
def test_the_polynomial_exp_log_and_log1p_are_within_two_units_in_the_last_place():
    from efficient_synapses.training import fused_numba as fn

    rng = np.random.default_rng(0)
    x = rng.uniform(-87, 88, 2000).astype(np.float32)
    exp = np.array([fn.expf(v) for v in x], dtype=np.float32)
    ref = np.exp(x.astype(np.float64))
    assert np.max(np.abs(exp - ref) / ref) < 2 * 2**-23
    assert fn.expf(np.float32(89.0)) == np.inf  # above the float32 range, as torch.exp
    y = (10.0 ** rng.uniform(-44, 38, 2000)).astype(np.float32)  # subnormals too
    y = y[y > 0]
    log = np.array([fn.logf(v) for v in y], dtype=np.float64)
    ref = np.log(y.astype(np.float64))
    assert np.max(np.abs(log - ref) / np.abs(ref)) < 4 * 2**-23
    e = np.concatenate([np.float32(10.0) ** rng.uniform(-30, 0, 2000), [0.0, 1.0, 0.41421]])
    e = e.astype(np.float32)
    l1p = np.array([fn.log1pf(v) for v in e], dtype=np.float64)
    ref = np.log1p(e.astype(np.float64))
    assert np.max(np.abs(l1p - ref) / np.maximum(ref, 1e-45)) < 2 * 2**-23
    assert fn.log1pf(np.float32(1e-30)) == np.float32(1e-30)  # no (1 + e) - 1 cancellation


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba is not installed")
def test_erf_and_the_variational_terms_stay_exact_and_normal_far_in_the_tails():
    """A posterior's |μ|/σ runs into the thousands: erf is then exactly ±1 and D =
    e^(-z²/2) exactly 0 (never a subnormal float, on which each operation costs about a
    hundred cycles), and Σ E_Q[-log P(w)] (Eq. 38-39, Laplace prior) keeps float64's value."""
    from efficient_synapses.training import fused_numba as fn

    x = np.concatenate([np.linspace(-12, 12, 4001), [-1e4, 1e4]]).astype(np.float32)
    erf = np.array([fn.erff(v) for v in x], dtype=np.float64)
    ref = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert np.max(np.abs(erf - ref)) < 3e-7
    assert np.all(np.abs(erf[np.abs(x) >= 9]) == 1.0)

    rng = np.random.default_rng(1)
    n = 4096
    sigma = np.float32(1.8e-4)
    mu = (rng.standard_normal(n) * 0.05).astype(np.float32)  # |z| from 0 to ~1000
    phi = np.full(n, np.log(np.expm1(np.float64(sigma))), np.float32)
    x_noise = np.zeros(n, np.float32)
    a, b, c, d, w, prior, entropic = (np.zeros(n, np.float32) for _ in range(7))
    fn.variational_terms(mu, phi, x_noise, w, a, b, c, d, prior, entropic, np.float32(0.01),
                         True)  # fmt: skip
    tiny = np.finfo(np.float32).tiny
    for values in (c, d, prior):
        assert not np.any((values != 0) & (np.abs(values) < tiny))  # no subnormal
    z = mu.astype(np.float64) / b.astype(np.float64)
    assert np.all(d[np.abs(z) > 11] == 0.0)
    s, bs = b.astype(np.float64), 0.01
    expected = (
        np.log(2 * bs)
        + (
            s * math.sqrt(2 / math.pi) * np.exp(-z * z / 2)
            + mu * np.array([math.erf(v / math.sqrt(2)) for v in z])
        )
        / bs
    )
    np.testing.assert_allclose(prior, expected, rtol=2e-6, atol=1e-6)


@pytest.mark.skipif("numba" not in BACKENDS, reason="numba is not installed")
@pytest.mark.parametrize("rho", [0.5, 2.0 / 3.0, 4.0 / 3.0, 2.0, 1.0, 0.75])
def test_sigma_to_the_minus_rho_in_closed_form_and_by_exp_log(rho):
    """σ^-ρ for the paper's ρ without exp and log (inverse cube root by Newton), others
    by exp(-ρ ln σ): against float64, within a few units in the last place."""
    from efficient_synapses.training import fused_numba as fn

    kernels = fn.kernels(np.float32)
    sigma = (10.0 ** np.linspace(-6, 1, 256)).astype(np.float32).reshape(1, -1)
    k, n = sigma.shape
    phi = np.log(np.expm1(sigma.astype(np.float64))).astype(np.float32)  # softplus⁻¹
    noise = np.zeros((1, n), np.float32)
    buf = [np.zeros_like(sigma) for _ in range(3)]
    jobs = fn._jobs([n], k)
    part = [np.zeros(len(jobs)) for _ in range(3)]
    scratch = np.zeros((64, 2, CHUNK), np.float32)
    kernels.sample(
        np.zeros_like(sigma), phi, noise, np.zeros(k, np.int64), np.zeros(1, np.int64),
        np.zeros(k, np.int64), np.zeros(k, np.float32), np.full(k, rho, np.float32),
        np.ones(k, np.float32), np.float32(1.0), buf[0], buf[1], buf[2], buf[1], buf[2],
        scratch, jobs, *part,
    )  # fmt: skip
    softplus = np.log1p(np.exp(phi.astype(np.float64)))
    expected_sum = np.sum(softplus**-rho)
    assert part[1].sum() == pytest.approx(expected_sum, rel=2e-6)
    # B = (B/N) ρ c σ^(-ρ-1) sigmoid(φ) with (B/N) ρ c = 1 here
    sig = 1 / (1 + np.exp(-phi.astype(np.float64)))
    np.testing.assert_allclose(buf[2][0], softplus[0] ** (-rho - 1) * sig[0], rtol=4e-6)


def test_a_step_by_formula_gives_the_gradient_of_eq_2_to_4_by_hand():
    """One synapse per layer: dL/dμ = dL/dw + (B/N) λ sign μ, dL/dφ = (dL/dw ξ - (B/N) c ρ
    σ^(-ρ-1)) sigmoid(φ), read back from Adam's first moment after one step (m = (1-β1) g)."""
    dtype = torch.float64
    model = StochasticMLP([1, 1], ["heterogeneous"], [0], sigma_init=0.1, dtype=dtype)
    with torch.no_grad():
        model.mu_w[0].fill_(0.3)
        model.mu_b[0].fill_(-0.2)
    c, rho, lam, a = 0.5, 2.0, 0.1, 0.25
    obj = EnergyEfficientObjective([c], [rho], lam, 4, 1, dtype=dtype)
    obj.loss = lambda out, y: (out[..., 0] - y).pow(2).sum(-1)  # L = (w x + b - y)²
    settings = fused.AdamSettings(1e-3, 1e-3, (0.9, 0.999), 1e-8)
    for backend in BACKENDS:
        m = StochasticMLP([1, 1], ["heterogeneous"], [0], sigma_init=0.1, dtype=dtype)
        m.load_state_dict(model.state_dict())
        step = fused.FusedStep(m, obj, regulariser_of(obj, m), settings, backend)
        x = torch.tensor([[[2.0]]], dtype=dtype)
        y = torch.tensor([[1.0]], dtype=dtype)
        noise = torch.tensor([[0.5, -1.0]], dtype=dtype)  # ξ of the weight, the threshold
        loss, parts, _, finite = step(x, y, noise, torch.zeros(1, dtype=torch.long))
        phi = m.phi_w[0].item()  # before the step: σ = softplus(φ)
        sigma = math.log1p(math.exp(phi))
        w, b = 0.3 + sigma * 0.5, -0.2 - sigma * 1.0
        residual = w * 2.0 + b - 1.0
        assert loss.item() == pytest.approx(
            residual**2 + a * (lam * 0.5 + c * 2 * sigma**-rho), rel=1e-12
        )
        assert parts["reliability"].item() == pytest.approx(c * 2 * sigma**-rho, rel=1e-12)
        step.apply(finite)
        sig = 1 / (1 + math.exp(-phi))
        g_w, g_b = 2 * residual * 2.0, 2 * residual
        expected_mu = [g_w + a * lam, g_b - a * lam]
        d_pen = a * c * rho * sigma ** (-rho - 1)
        expected_phi = [(g_w * 0.5 - d_pen) * sig, (g_b * -1.0 - d_pen) * sig]
        m_mu = step.state.m_mu[0].tolist()
        m_phi = step.state.m_phi[0].tolist()
        assert m_mu == pytest.approx([0.1 * g for g in expected_mu], rel=1e-9)
        assert m_phi == pytest.approx([0.1 * g for g in expected_phi], rel=1e-9)
