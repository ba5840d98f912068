"""Silent units, active fractions and the live / silent-touching split of RMS σ (drift.py)."""

from __future__ import annotations

import math

import pytest
import torch

from efficient_synapses.data.raw import Dataset
from efficient_synapses.training.drift import (
    drift_metrics,
    silent_touching_masks,
    unit_activity_record,
)
from efficient_synapses.training.engine import evaluate
from efficient_synapses.training.model import (
    StochasticMLP,
    inverse_softplus,
    network_noise_generators,
)

SIZES = [6, 5, 4, 3]


def _data(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Dataset(torch.rand(n, SIZES[0], generator=gen), torch.randint(0, 3, (n,), generator=gen))


def _model(k=2, variant="methods", sigma=0.05):
    model = StochasticMLP(
        SIZES, ["heterogeneous"] * k, list(range(k)), sigma_init=sigma, variant=variant
    )
    with torch.no_grad():  # distinct σ per weight, so the split is not trivially equal
        for phi in model.phi_w:
            phi.copy_(
                inverse_softplus(
                    torch.rand(phi.shape, generator=torch.Generator().manual_seed(3)) * 0.5 + 0.01
                )
            )
    return model


def _silence(model, network, layer, unit):
    """Force hidden unit ``unit`` of hidden layer ``layer`` (from 1) of ``network`` silent:
    inputs are non-negative, so a very negative threshold and non-positive incoming μ keep
    it below zero on every example."""
    with torch.no_grad():
        model.mu_b[layer - 1][network, unit] = -100.0
        model.mu_w[layer - 1][network, unit].clamp_(max=0.0)


def _drift(model, data, sample=True):
    at_mean = evaluate(model, data, False, 16, unit_activity=True)
    sampled = None
    if sample:
        gens = network_noise_generators(model.seeds, "cpu", 7)
        sampled = evaluate(model, data, True, 8, gens, unit_activity=True)
    return drift_metrics(model, at_mean, sampled), at_mean, sampled


def test_a_unit_forced_silent_is_counted_and_its_synapses_touch_it():
    model, data = _model(), _data()
    before = _drift(model, data)[0]
    _silence(model, network=1, layer=1, unit=2)
    values, at_mean, sampled = _drift(model, data)
    assert values["silent_units_layer1"][1] == before["silent_units_layer1"][1] + 1
    assert (
        values["silent_units_layer1"][0] == before["silent_units_layer1"][0]
    )  # network 0 untouched
    masks = silent_touching_masks(model, [c == 0 for c in at_mean["active_counts"]])
    # its 6 incoming weights (layer 1, row 2) and its 4 outgoing ones (layer 2, column 2)
    assert masks[0][1, 2].all() and masks[1][1, :, 2].all()
    assert values["n_weights_silent_touching"][1] >= 6 + 4
    record = unit_activity_record(at_mean, sampled, 1)
    assert record["layer1"]["silent_at_mean"][2] is True
    assert record["layer1"]["active_fraction_at_mean"][2] == 0.0


def test_live_and_silent_touching_rms_recombine_to_the_overall_rms():
    model, data = _model(k=3), _data()
    _silence(model, network=0, layer=1, unit=0)
    _silence(model, network=2, layer=2, unit=1)
    values = _drift(model, data)[0]
    overall = model.weight_sigma_rms().double().tolist()
    for k in range(3):
        n_live, n_silent = values["n_weights_live"][k], values["n_weights_silent_touching"][k]
        assert n_live + n_silent == 6 * 5 + 5 * 4 + 4 * 3
        live, silent = values["sigma_rms_live"][k], values["sigma_rms_silent_touching"][k]
        silent_sq = 0.0 if n_silent == 0 else n_silent * silent**2
        total = math.sqrt((n_live * live**2 + silent_sq) / (n_live + n_silent))
        assert total == pytest.approx(overall[k], rel=1e-6)
    assert values["n_weights_silent_touching"][0] > 0 and values["n_weights_silent_touching"][2] > 0


def test_no_silent_unit_gives_an_empty_silent_set():
    model, data = _model(k=1), _data()
    with torch.no_grad():
        for b in model.mu_b:
            b.fill_(100.0)  # every unit active on every example
    values = _drift(model, data)[0]
    assert values["silent_units_layer1"] == [0.0] and values["silent_units_layer2"] == [0.0]
    assert values["n_weights_silent_touching"] == [0.0]
    assert math.isnan(values["sigma_rms_silent_touching"][0])
    assert math.isnan(values["silent_active_fraction_sampled_layer1"][0])
    assert values["active_fraction_sampled_layer1"] == [1.0]


def test_active_fraction_by_hand():
    """One hidden unit, two inputs: active exactly where x0 > x1 at w = μ."""
    model = StochasticMLP([2, 1, 2], ["heterogeneous"], [0], sigma_init=1e-8)
    with torch.no_grad():
        model.mu_w[0].copy_(torch.tensor([[[1.0, -1.0]]]))
        model.mu_b[0].zero_()
    x = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.5], [0.1, 0.3]])
    data = Dataset(x, torch.zeros(4, dtype=torch.long))
    out = evaluate(model, data, False, 3, unit_activity=True)
    assert out["active_counts"][0].tolist() == [[2]] and out["n_examples"] == 4
    # σ ≈ 0: the sampled pass sees the same activity
    gens = network_noise_generators([0], "cpu")
    sampled = evaluate(model, data, True, 2, gens, unit_activity=True)
    values = drift_metrics(model, out, sampled)
    assert values["active_fraction_sampled_layer1"] == [0.5]
    assert values["silent_units_layer1"] == [0.0]


def test_a_unit_without_a_relu_is_never_silent():
    """Released code: no ReLU after the first layer, so its units always pass a gradient."""
    model, data = _model(variant="released_code"), _data()
    _silence(model, network=0, layer=1, unit=0)
    values = _drift(model, data, sample=False)[0]
    assert values["silent_units_layer1"] == [0.0, 0.0]
    assert "active_fraction_sampled_layer1" not in values


def test_silent_units_fire_under_sampled_weights_when_their_sigma_is_large():
    """What the drift hypothesis needs measured: a unit silent at μ can fire at random."""
    model, data = _model(k=1, sigma=0.05), _data(n=256)
    _silence(model, network=0, layer=1, unit=3)
    with torch.no_grad():
        model.mu_b[0][0, 3] = -0.5
        model.phi_w[0][0, 3].fill_(inverse_softplus(3.0))
    values = _drift(model, data)[0]
    assert values["silent_units_layer1"][0] >= 1
    assert values["silent_active_fraction_sampled_layer1"][0] > 0.0
