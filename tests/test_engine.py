"""The training engine: determinism, resume, non-finite losses, statistics hooks."""

from __future__ import annotations

import pytest
import torch

from efficient_synapses.data import Dataset
from efficient_synapses.engine import NonFiniteLossError, TrainOptions, evaluate, train
from efficient_synapses.model import StochasticMLP
from efficient_synapses.objectives import EnergyEfficientObjective


def toy_data(n=120, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 12, generator=gen)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return Dataset(x, y)


def make(seeds=(0,), noise=("heterogeneous",), c=0.01, rho=0.5):
    model = StochasticMLP([12, 8, 3], list(noise), list(seeds), sigma_init=1e-2)
    objective = EnergyEfficientObjective([c] * len(seeds), [rho] * len(seeds), 1e-4, 120, 10)
    return model, objective


def quiet(_message):
    pass


def test_training_learns_and_is_deterministic():
    results = []
    for _ in range(2):
        model, objective = make()
        history = train(model, objective, toy_data(), TrainOptions(8, 10, 1e-2), log=quiet)
        results.append((history, torch.cat([p.detach().flatten() for p in model.parameters()])))
    (h1, p1), (h2, p2) = results
    assert torch.equal(p1, p2)
    assert h1.loss == h2.loss
    assert h1.train_accuracy[-1][0] > h1.train_accuracy[0][0]
    assert h1.train_accuracy[-1][0] > 0.8


def test_resume_after_interruption_gives_identical_result(tmp_path):
    data, options = toy_data(), TrainOptions(6, 10, 1e-2, noise_seed=4)
    model, objective = make()
    train(model, objective, data, options, log=quiet)
    reference = torch.cat([p.detach().flatten() for p in model.parameters()])

    checkpoint = tmp_path / "checkpoint.pt"
    model, objective = make()
    # "Kill" the job after three epochs: a run with epochs=3 leaves the same checkpoint
    # as the first three epochs of the full run would.
    partial = TrainOptions(6, 10, 1e-2, noise_seed=4)

    def interrupt(message):
        if message.startswith("epoch 3/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(model, objective, data, partial, checkpoint_path=checkpoint, log=interrupt)
    assert checkpoint.exists()
    model, objective = make()
    messages = []
    train(model, objective, data, options, checkpoint_path=checkpoint, log=messages.append)
    assert any("resuming" in m for m in messages)
    resumed = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.equal(resumed, reference)


def test_checkpoint_of_another_configuration_is_refused(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    model, objective = make()
    train(
        model,
        objective,
        toy_data(),
        TrainOptions(1, 10, 1e-2),
        checkpoint_path=checkpoint,
        describe=["a"],
        log=quiet,
    )
    model, objective = make()
    with pytest.raises(RuntimeError, match="another configuration"):
        train(
            model,
            objective,
            toy_data(),
            TrainOptions(2, 10, 1e-2),
            checkpoint_path=checkpoint,
            describe=["b"],
            log=quiet,
        )


def test_nan_loss_stops_with_hyperparameters_in_message():
    model, objective = make()
    data = toy_data()
    data.inputs[5, 3] = float("nan")
    with pytest.raises(NonFiniteLossError, match="noise=heterogeneous rho=1/2 c=0.01 seed=0"):
        train(
            model,
            objective,
            data,
            TrainOptions(2, 10, 1e-2),
            describe=["noise=heterogeneous rho=1/2 c=0.01 seed=0"],
            log=quiet,
        )


def test_statistics_pass_without_update_leaves_parameters_unchanged():
    model, objective = make()
    before = [p.detach().clone() for p in model.parameters()]
    seen = []
    train(
        model,
        objective,
        toy_data(),
        TrainOptions(2, 10, 1e-2, update=False),
        log=quiet,
        after_backward=lambda m, value, idx: seen.append(m.mu_w[0].grad.pow(2).sum().item()),
    )
    assert len(seen) == 2 * 12 and all(v > 0 for v in seen)
    for b, p in zip(before, model.parameters(), strict=True):
        assert torch.equal(b, p)


def test_group_of_networks_trains_like_networks_alone():
    """Same initialisation and data order; noise draws differ, results agree within noise."""
    data, options = toy_data(240), TrainOptions(6, 10, 1e-2)
    group, objective = make(seeds=(0, 1), noise=("heterogeneous", "homogeneous"))
    objective.dataset_weight = 10 / 240
    train(group, objective, data, options, log=quiet)
    group_acc = evaluate(group, data, sample=False, batch_size=60)["accuracy"]
    for k, (seed, noise) in enumerate([(0, "heterogeneous"), (1, "homogeneous")]):
        single, single_obj = make(seeds=(seed,), noise=(noise,))
        single_obj.dataset_weight = 10 / 240
        train(single, single_obj, data, TrainOptions(6, 10, 1e-2, noise_seed=7), log=quiet)
        acc = evaluate(single, data, sample=False, batch_size=60)["accuracy"][0]
        assert abs(acc - group_acc[k]) < 0.08


def test_group_with_zero_noise_equals_networks_alone():
    """With σ → 0 the noise draw is irrelevant, so a group must reproduce lone networks exactly."""
    data, options = toy_data(), TrainOptions(3, 10, 1e-2)
    group, objective = make(seeds=(0, 1), noise=("heterogeneous",) * 2, c=0.0)
    with torch.no_grad():  # σ ≈ 1e-13: the draws no longer matter in float32
        for p in list(group.phi_w) + list(group.phi_b):
            p.fill_(-30.0)
    objective.c.zero_()
    train(group, objective, data, options, log=quiet)
    for k, seed in enumerate((0, 1)):
        single, single_obj = make(seeds=(seed,), c=0.0)
        with torch.no_grad():
            for p in list(single.phi_w) + list(single.phi_b):
                p.fill_(-30.0)
        single_obj.c.zero_()
        train(single, single_obj, data, options, log=quiet)
        assert torch.allclose(group.mu_w[0][k], single.mu_w[0][0], atol=1e-5)


def test_after_epoch_values_are_kept_per_epoch_and_network():
    model, objective = make(seeds=(0, 1), noise=("heterogeneous", "homogeneous"))
    calls = []

    def after_epoch(epoch, m):
        calls.append(epoch)
        return {"sigma_rms": m.weight_sigma_rms().tolist()}

    history = train(
        model, objective, toy_data(), TrainOptions(3, 10, 1e-2), log=quiet, after_epoch=after_epoch
    )
    assert calls == [1, 2, 3]
    assert len(history.epoch_metrics) == 3
    assert history.epoch_metrics[-1]["sigma_rms"] == model.weight_sigma_rms().tolist()
    from efficient_synapses.engine import history_to_json

    assert (
        history_to_json(history, 1)["epoch_metrics"][0]["sigma_rms"]
        == (history.epoch_metrics[0]["sigma_rms"][1])
    )
