"""The training engine: determinism, resume, non-finite losses, statistics hooks, the CUDA-graph
control flow (with a fake graph), devices, per-network noise streams and failure isolation."""

from __future__ import annotations

import math

import pytest
import torch

from efficient_synapses.data.raw import Dataset
from efficient_synapses.training.engine import (
    GraphBackend,
    GraphStepper,
    NonFiniteLossError,
    TrainOptions,
    adam_settings,
    evaluate,
    noise_generators,
    train,
)
from efficient_synapses.training.model import (
    StochasticMLP,
    network_noise_generators,
    noise_stream_seed,
)
from efficient_synapses.training.objectives import EnergyEfficientObjective


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
    from efficient_synapses.training.engine import history_to_json

    assert (
        history_to_json(history, 1)["epoch_metrics"][0]["sigma_rms"]
        == (history.epoch_metrics[0]["sigma_rms"][1])
    )


# --- CUDA-graph control flow on the CPU, with a fake graph --------------------------------


class FakeGraph:
    """Stands in for a captured CUDA graph: ``replay`` runs the recorded step."""

    def __init__(self, step):
        self.step, self.replays = step, 0

    def replay(self):
        self.replays += 1
        self.step()


class FakeBackend(GraphBackend):
    """Records instead of capturing; can fail the way a real capture fails.

    A real capture does not run the step, and a failed one leaves the generators it
    registered in capture mode: the failing fake advances them before it raises, so a
    stepper that does not restore their states gives different parameters.
    """

    def __init__(self, fail: str | None = None, restore_fails: bool = False):
        self.fail, self.restore_fails = fail, restore_fails
        self.warmups, self.captures, self.graph = 0, 0, None

    def warmup(self, step):
        self.warmups += 1
        step()

    def capture(self, step, generators):
        self.captures += 1
        if self.fail:
            for gen in generators:
                torch.randn(5, generator=gen)
            raise RuntimeError(self.fail)
        self.graph = FakeGraph(step)
        return self.graph

    def restore_generators(self, generators, states):
        if self.restore_fails:
            raise RuntimeError("generator still in capture mode")
        return super().restore_generators(generators, states)


def flat_params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def eager_reference(options, seeds=(0, 1), noise=("heterogeneous", "homogeneous")):
    model, objective = make(seeds=seeds, noise=noise)
    history = train(model, objective, toy_data(), options, log=quiet)
    return flat_params(model), history


def test_fake_graph_is_captured_once_and_replays_run_the_step():
    options = TrainOptions(2, 10, 1e-2)  # 2 x 12 steps
    reference, ref_history = eager_reference(options)
    model, objective = make(seeds=(0, 1), noise=("heterogeneous", "homogeneous"))
    backend, messages = FakeBackend(), []
    history = train(
        model, objective, toy_data(), options, log=messages.append, graph_backend=backend
    )
    assert backend.warmups == GraphStepper.WARMUP_DEFAULT and backend.captures == 1
    # The capture records without running: the step right after it is its first replay.
    assert backend.graph.replays == 24 - GraphStepper.WARMUP_DEFAULT
    assert torch.equal(flat_params(model), reference)
    assert history.loss == ref_history.loss
    assert (history.step_path, history.step_path_reason) == ("cuda_graph", "")
    assert ref_history.step_path == "eager" and "cpu" in ref_history.step_path_reason
    assert any("captured as a CUDA graph" in m for m in messages)


def test_failed_capture_restores_the_noise_and_continues_eagerly():
    options = TrainOptions(2, 10, 1e-2)
    reference, _ = eager_reference(options)
    model, objective = make(seeds=(0, 1), noise=("heterogeneous", "homogeneous"))
    backend, messages = FakeBackend(fail="operation not permitted when stream is capturing"), []
    history = train(
        model, objective, toy_data(), options, log=messages.append, graph_backend=backend
    )
    assert backend.captures == 1 and backend.graph is None
    assert torch.equal(flat_params(model), reference)
    assert history.step_path == "eager"
    assert "capture failed" in history.step_path_reason
    assert "operation not permitted" in history.step_path_reason
    assert any("continuing with eager steps" in m for m in messages)


def test_failed_capture_with_unrecoverable_generators_stops_with_the_reason():
    model, objective = make()
    backend = FakeBackend(fail="cudaErrorStreamCaptureInvalidated", restore_fails=True)
    with pytest.raises(RuntimeError, match="cudaErrorStreamCaptureInvalidated.*cuda_graph: false"):
        train(
            model,
            objective,
            toy_data(),
            TrainOptions(1, 10, 1e-2),
            log=quiet,
            graph_backend=backend,
        )


def test_a_run_too_short_to_capture_says_so():
    model, objective = make()
    history = train(
        model,
        objective,
        toy_data(20),
        TrainOptions(1, 10, 1e-2),
        log=quiet,
        graph_backend=FakeBackend(),
    )
    assert history.step_path == "eager" and "warm-up" in history.step_path_reason


# --- devices ---------------------------------------------------------------------------------


def test_a_cuda_device_this_machine_lacks_is_named_in_the_error(monkeypatch):
    from efficient_synapses.training.engine import check_cuda_device, resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(RuntimeError, match=r"'cuda:3'.*2 CUDA device\(s\): cuda:0 to cuda:1"):
        resolve_device("cuda:3")
    with pytest.raises(RuntimeError, match=r"'cuda:2' does not exist"):
        check_cuda_device(torch.device("cuda:2"))
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="'cuda:0' but CUDA is not available"):
        resolve_device("cuda:0")
    with pytest.raises(ValueError, match="'gpu0'"):
        resolve_device("gpu0")


# --- per-network noise streams ------------------------------------------------------------


NETWORKS = {  # (noise, seed, c, rho): different settings, two sharing a seed
    "a": ("heterogeneous", 0, 0.01, 0.5),
    "b": ("homogeneous", 1, 0.1, 2.0),
    "c": ("heterogeneous", 2, 0.001, 4 / 3),
    "d": ("homogeneous", 0, 1.0, 2 / 3),
}


def float64_group(names):
    """The networks ``names`` of NETWORKS as one float64 group, its objective and data."""
    spec = [NETWORKS[n] for n in names]
    model = StochasticMLP(
        [12, 8, 3],
        [s[0] for s in spec],
        [s[1] for s in spec],
        sigma_init=1e-2,
        dtype=torch.float64,
    )
    objective = EnergyEfficientObjective(
        [s[2] for s in spec], [s[3] for s in spec], 1e-4, 120, 10, dtype=torch.float64
    )
    data = toy_data()
    data = Dataset(data.inputs.double(), data.labels)
    return model, objective, data


def train_networks(names, streams="per_network", epochs=3):
    """Train the networks ``names`` of NETWORKS as one group, in float64."""
    model, objective, data = float64_group(names)
    options = TrainOptions(epochs, 10, 1e-2, noise_streams=streams)
    history = train(model, objective, data, options, log=quiet)
    gens = noise_generators(model, streams, 1)
    test = evaluate(model, data, sample=True, batch_size=30, generator=gens)
    return model, history, test


def network_state(model, k):
    sigmas = model.sigmas()
    return torch.cat(
        [t[k].flatten() for t in [*model.mu_w, *model.mu_b]]
        + [s[k].flatten() for pair in sigmas for s in pair]
    )


def test_a_network_trains_the_same_alone_and_in_any_group():
    alone = {name: train_networks([name]) for name in NETWORKS}
    for group in (["a", "b", "c", "d"], ["c", "a"], ["d", "b", "a"]):
        model, history, test = train_networks(group)
        for k, name in enumerate(group):
            ref_model, ref_history, ref_test = alone[name]
            diff = (network_state(model, k) - network_state(ref_model, 0)).abs().max().item()
            assert diff <= 1e-6, (group, name, diff)
            assert history.loss[-1][k] == pytest.approx(ref_history.loss[-1][0], abs=1e-6)
            assert test["accuracy"][k] == ref_test["accuracy"][0]


def test_a_shared_stream_makes_a_network_depend_on_its_group():
    """The check above can fail: with one stream per group it does."""
    alone, _, _ = train_networks(["c"], streams="shared")
    group, _, _ = train_networks(["a", "c"], streams="shared")
    assert (network_state(group, 1) - network_state(alone, 0)).abs().max().item() > 1e-3


def per_network_noise(seeds):
    """The ξ of one draw for networks with these seeds, (K, n_synapses), μ = 0 and σ = 1."""
    model = StochasticMLP([5, 4, 3], ["heterogeneous"] * len(seeds), seeds)
    gens = network_noise_generators(model.seeds, "cpu")
    ones = [(torch.ones_like(w), torch.ones_like(b)) for w, b in model.means()]
    with torch.no_grad():
        for w in [*model.mu_w, *model.mu_b]:
            w.zero_()
        noise = model.sample_weights(gens, sigmas=ones)
    return torch.cat([torch.cat([w.flatten(1), b], 1) for w, b in noise], 1), model, gens


def test_per_network_noise_rows_come_from_their_own_generators():
    flat, model, gens = per_network_noise([7, 8, 7])
    assert flat.shape == (3, model.n_synapses) == (3, 4 * 5 + 4 + 3 * 4 + 3)
    own = torch.empty(model.n_synapses).normal_(
        generator=torch.Generator().manual_seed(noise_stream_seed(8))
    )
    assert torch.equal(flat[1], own)  # network 1: its own seed's stream, first draw
    assert torch.equal(flat[0], flat[2]) and not torch.equal(flat[0], flat[1])  # same seed 7


@pytest.mark.parametrize("seeds", [[3, 3, 3, 3], [5, 1, 5, 1, 9], [2, 4, 6]])
def test_one_draw_per_distinct_seed_gives_every_network_its_own_vector(seeds):
    """Networks sharing a seed share one generator and one draw, and each row is bitwise
    the vector the network draws alone, over several steps."""
    flat, model, gens = per_network_noise(seeds)
    assert len(gens.generators) == len(set(seeds))
    ones = [(torch.ones_like(w), torch.ones_like(b)) for w, b in model.means()]
    with torch.no_grad():  # μ is still 0: the weights are the second draw's ξ
        second = model.sample_weights(gens, sigmas=ones)
    second = torch.cat([torch.cat([w.flatten(1), b], 1) for w, b in second], 1)
    for k, seed in enumerate(seeds):
        alone = torch.Generator().manual_seed(noise_stream_seed(seed))
        first = torch.empty(model.n_synapses).normal_(generator=alone)
        again = torch.empty(model.n_synapses).normal_(generator=alone)
        assert torch.equal(flat[k], first) and torch.equal(second[k], again)


def test_noise_stream_seeds_are_distinct_and_valid():
    seeds = {noise_stream_seed(s, stream) for s in range(50) for stream in range(3)}
    assert len(seeds) == 150 and all(0 <= s < 2**63 for s in seeds)
    assert noise_stream_seed(3, 0) == noise_stream_seed(3, 0) != noise_stream_seed(3, 1)
    # Not the seed itself: the initialisation generator of network 3 is seeded with 3.
    assert noise_stream_seed(3) != 3


# --- failure isolation ----------------------------------------------------------------------


class NaNAt:
    """The objective, with network ``k``'s loss made NaN at call ``step`` (from 1)."""

    def __init__(self, objective, k, step):
        self.objective, self.k, self.step, self.calls = objective, k, step, 0
        self.before = None

    def __call__(self, model, x, y, generator=None):
        self.calls += 1
        value = self.objective(model, x, y, generator)
        if self.calls == self.step:
            self.before = network_state(model, self.k).detach().clone()
            bad = torch.arange(value.loss.shape[0]) == self.k
            # A NaN factor: loss and every gradient of network k become NaN, as in a real
            # divergence (torch.where would give it finite, zero gradients).
            nan = torch.where(bad, float("nan"), 1.0).to(value.loss.dtype)
            value.loss = value.loss * nan
        return value


class NaNLossAt:
    """The performance cost of ``objective``, with network ``k``'s made NaN at call
    ``step``: what reaches the fused step (which calls only ``objective.loss`` through
    autograd); the objective stays one the fused step knows."""

    def __init__(self, model, objective, k, step):
        self.model, self.loss, self.k, self.step, self.calls = model, objective.loss, k, step, 0
        self.before = None
        objective.loss = self

    def __call__(self, logits, labels):
        self.calls += 1
        value = self.loss(logits, labels)
        if self.calls == self.step:
            self.before = network_state(self.model, self.k).detach().clone()
            bad = torch.arange(value.shape[0]) == self.k
            value = value * torch.where(bad, float("nan"), 1.0).to(value.dtype)
        return value


def inject_nan(model, objective, k, step, how):
    """(the objective to train with, its recorder): NaN for network ``k`` at ``step``,
    through the whole objective (autograd) or through its performance cost (fused)."""
    if how == "autograd":
        faulty = NaNAt(objective, k, step)
        return faulty, faulty
    return objective, NaNLossAt(model, objective, k, step)


@pytest.mark.parametrize("how", ["fused", "autograd"])
def test_a_nan_in_one_network_freezes_it_and_the_group_trains_on(how):
    names = ["a", "b", "c"]
    model, objective, data = float64_group(names)
    reference, _, _ = float64_group(names)
    ref_history = train(reference, objective, data, TrainOptions(3, 10, 1e-2, step=how), log=quiet)
    faulty, recorder = inject_nan(model, objective, k=1, step=17, how=how)  # epoch 2, step 5
    messages = []
    options = TrainOptions(3, 10, 1e-2, on_non_finite="isolate", step=how)
    history = train(model, faulty, data, options, describe=names, log=messages.append)
    assert history.diverged_step == [None, 17, None]
    assert history.diverged_epoch == [None, 2, None]
    # The others: exactly as in the same group without the NaN.
    for k in (0, 2):
        assert torch.equal(network_state(model, k), network_state(reference, k))
        assert history.loss[-1][k] == ref_history.loss[-1][k]
    # The diverged one: frozen at its parameters before the bad step, all finite.
    frozen = network_state(model, 1)
    assert torch.equal(frozen, recorder.before) and torch.isfinite(frozen).all()
    assert math.isnan(history.loss[2][1])  # no finite step in epoch 3
    assert math.isfinite(history.loss[1][1])  # epoch 2: the 4 steps before the NaN
    assert any(m.startswith("DIVERGED b: ") and "step 17" in m for m in messages)


@pytest.mark.parametrize("how", ["fused", "autograd"])
def test_a_nan_in_raise_mode_names_the_network(how):
    model, objective = make(seeds=(0, 1), noise=("heterogeneous", "homogeneous"))
    faulty, _ = inject_nan(model, objective, k=1, step=3, how=how)
    with pytest.raises(NonFiniteLossError, match="epoch 1 for: second"):
        train(
            model,
            faulty,
            toy_data(),
            TrainOptions(2, 10, 1e-2, step=how),
            describe=["first", "second"],
            log=quiet,
        )


@pytest.mark.parametrize("how", ["fused", "autograd"])
def test_resume_after_a_divergence_gives_identical_result(tmp_path, how):
    options = TrainOptions(4, 10, 1e-2, on_non_finite="isolate", step=how)

    def run(checkpoint=None, log=quiet):
        model, objective = make(seeds=(0, 1), noise=("heterogeneous", "homogeneous"))
        faulty, _ = inject_nan(model, objective, k=0, step=15, how=how)
        history = train(model, faulty, toy_data(), options, checkpoint_path=checkpoint, log=log)
        return flat_params(model), history

    reference, ref_history = run()

    def interrupt(message):
        if message.startswith("epoch 3/"):
            raise KeyboardInterrupt

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        run(checkpoint, interrupt)
    resumed, history = run(checkpoint)
    assert torch.equal(resumed, reference)
    assert history.diverged_step == ref_history.diverged_step == [15, None]


def test_training_table_marks_diverged_networks(tmp_path):
    import json

    pytest.importorskip("pandas")  # absent on a bare GPU machine (gpu_check.sh runs this file)
    from efficient_synapses.training.tables import TRAINING_COLUMNS, training_table

    base = {key: 1.0 for key in TRAINING_COLUMNS}
    base.update(noise="heterogeneous", rho="1/2", seed=0, device="cpu", n_train=1, n_test=1)
    fine = {**base, "c": 0.1}
    fine.pop("diverged"), fine.pop("diverged_epoch")  # written before divergence was recorded
    diverged = {**base, "c": 1.0, "diverged": True, "diverged_epoch": 3}
    diverged["reliability_cost_s1"] = None  # infinite at its frozen parameters
    paths = []
    for i, m in enumerate([fine, diverged]):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(m))
    table = training_table(paths)
    assert table["diverged"].tolist() == [False, True]
    assert table["diverged_epoch"].isna().tolist() == [True, False]
    assert int(table["diverged_epoch"].iloc[1]) == 3
    # A network that did not diverge must be finite: named in the error.
    broken = {**base, "c": 2.0, "diverged": False, "diverged_epoch": None}
    broken["sigma_rms"] = None
    paths.append(tmp_path / "broken.json")
    paths[-1].write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=r"broken.json: non-finite values in \['sigma_rms'\]"):
        training_table(paths)


def test_a_training_job_records_a_diverged_network_and_finishes_the_others(mnist_raw, tmp_path):
    """c = 1e38 makes c Σ σ^-ρ infinite in float32 at the first step: that network alone stops."""
    import json

    pandas = pytest.importorskip("pandas")
    from efficient_synapses.training.jobs import NetworkSpec, run_training
    from efficient_synapses.training.tables import training_table

    training = {
        "layer_sizes": [784, 20, 10],
        "epochs": 2,
        "batch_size": 20,
        "learning_rate": 1e-3,
        "sigma_learning_rate": 3e-2,
        "magnitude_lambda": 1e-4,
        "mu_init_range": 0.1,
        "sigma_init": 3e-2,
        "dtype": "float32",
        "device": "cpu",
        "train_subset": 200,
        "test_subset": 100,
        "eval_batch_size": 50,
        "cuda_graph": True,
        "history_test_every": 0,
    }
    bad = NetworkSpec("heterogeneous", "1/2", 1e38, 0)
    good = NetworkSpec("homogeneous", "2", 0.1, 1)
    messages = []
    out = [tmp_path / "bad", tmp_path / "good"]
    bad_m, good_m = run_training([bad, good], training, mnist_raw, out, log=messages.append)
    assert bad_m["diverged"] and (bad_m["diverged_epoch"], bad_m["diverged_step"]) == (1, 1)
    assert not good_m["diverged"] and good_m["diverged_epoch"] is None
    assert bad_m["final_train_loss"] is None  # no finite epoch: null, never NaN in JSON
    assert any("DIVERGED " + bad.describe() in m for m in messages)
    assert good_m["step_path"] == "eager" and "cpu" in good_m["step_path_reason"]
    saved = json.loads((out[0] / "metrics.json").read_text())
    assert saved["diverged"] and saved["rho"] == "1/2" and saved["c"] == 1e38
    # Its parameters never moved from the initialisation.
    params = torch.load(out[0] / "params.pt")
    init = StochasticMLP([784, 20, 10], ["heterogeneous"], [0], sigma_init=3e-2)
    assert torch.equal(params["mu_weight"][0], init.mu_w[0][0].detach())
    # The other network: the same numbers as when it is trained alone.
    (alone,) = run_training([good], training, mnist_raw, [tmp_path / "alone"], log=quiet)
    for key in ("test_accuracy_sampled", "sigma_rms", "final_train_loss"):
        assert good_m[key] == pytest.approx(alone[key], rel=1e-6, abs=1e-9), key
    table = training_table([out[0] / "metrics.json", out[1] / "metrics.json"])
    row = table.set_index("c").loc[1e38]
    assert bool(row["diverged"]) and row["diverged_epoch"] == 1
    assert pandas.isna(row["final_train_loss"])


def test_mnist_loads_without_numpy(mnist_raw, monkeypatch):
    """The GPU check may run where numpy is absent: MNIST is read by torch alone (and so is
    the expected value here, so the test runs where pytest is and numpy is not)."""
    import sys

    from efficient_synapses.data.raw import load_mnist, read_idx

    raw = bytearray((mnist_raw / "t10k-images-idx3-ubyte").read_bytes()[16 : 16 + 500 * 784])
    pixels = torch.frombuffer(raw, dtype=torch.uint8)
    expected = (pixels.float() / 255.0 - 0.1307) / 0.3081
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy now raises ImportError
    data = load_mnist(mnist_raw, train=False, subset=500)
    assert torch.equal(data.inputs, expected.reshape(500, 784))
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the first MNIST test labels
    bad = mnist_raw.parent / "not_idx"
    bad.write_bytes(b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"\x00\x00\x00")
    with pytest.raises(ValueError, match="not_idx is not an unsigned-byte idx file"):
        read_idx(bad)


# --- the step at the hardware's speed: launch budget, fused Adam, freezing, pools, devices -


def test_a_step_dispatches_a_fixed_number_of_operators_whatever_the_group_size():
    """The CPU stand-in for the nodes of the CUDA graph a GPU step replays: with the noise
    drawn once per distinct seed, the count does not grow with K and stays in budget."""
    from efficient_synapses.training.speed import STEP_OPERATOR_BUDGET, step_operator_counts

    counts = {k: step_operator_counts(k, seeds=(0, 1)) for k in (2, 16)}
    assert sum(counts[2].values()) == sum(counts[16].values()) <= STEP_OPERATOR_BUDGET
    assert counts[16]["aten.normal_"] == 2  # one draw per distinct seed, not per network
    # On the CPU the per-synapse passes are numba kernels, not PyTorch operators.
    cpu = step_operator_counts(16, seeds=(0, 1), gpu_like=False)
    assert sum(cpu.values()) < sum(counts[16].values())
    assert "aten.addcmul" not in cpu and "aten._fused_adam_" not in cpu  # w, Adam: numba


@pytest.mark.parametrize("how", ["fused", "autograd"])
def test_freezing_fills_only_the_gradient_and_first_moment_and_still_freezes_exactly(how):
    """Two masked fills per flat row (μ, φ, φ_shared: not three): with the gradient and
    Adam's first moment zero, the update is exactly zero whatever the second moment holds."""
    from efficient_synapses.training.speed import step_operator_counts

    assert step_operator_counts(2, seeds=(0, 1))["aten.masked_fill_"] == 2 * 3
    names = ["a", "b", "c"]
    model, objective, data = float64_group(names)
    faulty, recorder = inject_nan(model, objective, k=1, step=17, how=how)
    options = TrainOptions(3, 10, 1e-2, on_non_finite="isolate", step=how)
    train(model, faulty, data, options, log=quiet)
    assert torch.equal(network_state(model, 1), recorder.before)


def test_adam_is_fused_and_capturable_on_cuda_and_fused_on_the_cpu():
    """fused=False on CUDA also disabled the multi-tensor path: a per-parameter loop of
    about 17 kernels per tensor in every replayed step. The fused kernel reads strided
    parameters (views of a group's flat rows) as if contiguous: those take foreach."""
    from efficient_synapses.training.engine import adam_settings

    fused = {"fused": True, "foreach": None}
    assert adam_settings(torch.device("cuda", 0)) == {"capturable": True} | fused
    assert adam_settings(torch.device("cpu")) == {"capturable": False} | fused
    strided = adam_settings(torch.device("cpu"), contiguous=False)
    assert strided == {"capturable": False, "fused": False, "foreach": True}


def test_adam_on_a_groups_strided_parameters_equals_adam_on_contiguous_copies():
    model = StochasticMLP([12, 8, 3], ["heterogeneous"] * 3, [0, 1, 2])
    assert not model.mu_w[0].is_contiguous()  # a view of the flat rows
    copies = [torch.nn.Parameter(p.detach().clone()) for p in model.parameters()]
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(p.shape, generator=gen) for p in copies]
    for params in (list(model.parameters()), copies):
        contiguous = all(p.is_contiguous() for p in params)
        opt = torch.optim.Adam(params, lr=0.1, **adam_settings(torch.device("cpu"), contiguous))
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        opt.step()
    # foreach and fused Adam round differently, never by more than float32 rounding
    for p, q in zip(model.parameters(), copies, strict=True):
        assert torch.allclose(p.detach(), q.detach(), rtol=0, atol=1e-7)


def test_softplus_off_the_cpu_is_torch_own_kernel():
    """Off the CPU one softplus operator (the CPU's hand-written version dispatches about
    eleven); on the meta device, which runs no arithmetic, the dispatch is what counts."""
    import collections

    from torch.utils._python_dispatch import TorchDispatchMode

    from efficient_synapses.training.model import softplus

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = collections.Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops[str(func.overloadpacket)] += 1
            return func(*args, **(kwargs or {}))

    phi = torch.zeros(3, 4, device="meta", requires_grad=True)
    with Count() as counted:
        softplus(phi).sum().backward()
    assert counted.ops["aten.softplus"] == 1 and counted.ops["aten.exp"] == 0
    # the CPU's version and torch's kernel agree to float32 rounding (torch's is linear
    # above φ = 20, where the difference is below an ulp of float32)
    x = torch.linspace(-30, 30, 301)
    assert torch.allclose(softplus(x), torch.nn.functional.softplus(x), rtol=3e-7, atol=0)


class FakeCudaApi:
    """Stands in for CUDA in ``CudaGraphBackend``: records every call; the graph's
    capture fails as a real one does when the step synchronises with the host."""

    class Stream:
        def wait_stream(self, other):
            pass

    class Graph:
        def __init__(self, api):
            self.api = api

        def register_generator_state(self, gen):
            pass

        def capture_begin(self, pool=None):
            self.api.calls.append(("capture_begin", pool))

        def capture_end(self):
            self.api.calls.append(("capture_end",))
            raise RuntimeError("operation not permitted when stream is capturing")

        def pool(self):
            raise RuntimeError("graph.pool() after a failed capture")

    def __init__(self):
        self.calls = []

    def current_stream(self, device):
        return self.Stream()

    def new_stream(self, device):
        return self.Stream()

    def stream(self, stream):
        import contextlib

        return contextlib.nullcontext()

    def synchronize(self, device):
        pass

    def new_graph(self):
        return self.Graph(self)

    def graph_pool_handle(self):
        return (7, 1)

    def end_allocate_to_pool(self, index, pool):
        self.calls.append(("end_allocate_to_pool", index, pool))

    def release_pool(self, index, pool):
        self.calls.append(("release_pool", index, pool))

    def default_generator(self, index):
        return torch.Generator()


def test_a_failed_capture_releases_the_graph_memory_pool():
    """The pool comes from graph_pool_handle and is handed back and released on failure
    (graph.pool() raises after a failed capture, so it was never released)."""
    from efficient_synapses.training.engine import CudaGraphBackend

    api = FakeCudaApi()
    backend = CudaGraphBackend(torch.device("cuda", 0), api=api)
    with pytest.raises(RuntimeError, match="capturing"):
        backend.capture(lambda: None, [torch.Generator()])
    assert ("capture_begin", (7, 1)) in api.calls
    assert api.calls[-2:] == [("end_allocate_to_pool", 0, (7, 1)), ("release_pool", 0, (7, 1))]


def test_a_checkpoint_of_another_device_type_is_named_not_loaded(tmp_path):
    """Generator states cannot move between CPU and CUDA: a checkpoint written on the other
    kind of device stops the resume with a message, not deep inside set_state."""
    checkpoint = tmp_path / "checkpoint.pt"
    options = TrainOptions(2, 10, 1e-2)
    model, objective = make()
    train(model, objective, toy_data(), options, log=quiet, checkpoint_path=checkpoint)
    state = torch.load(checkpoint, weights_only=False)
    assert state["device_type"] == "cpu"
    state["device_type"] = "cuda"
    torch.save(state, checkpoint)
    model, objective = make()
    with pytest.raises(RuntimeError, match="written on cuda, but this run is on cpu"):
        train(model, objective, toy_data(), options, log=quiet, checkpoint_path=checkpoint)


def test_a_job_on_another_device_type_names_its_checkpoint_apart():
    from efficient_synapses.artefacts import checkpoint_file

    training, networks = {"device": "auto", "epochs": 3}, ["a"]
    names = {
        checkpoint_file({"training": training, "networks": networks, "device": kind})
        for kind in ("cpu", "cuda")
    }
    assert len(names) == 2


def test_the_benchmark_groups_are_composed_as_the_workflow_composes_them(project_root):
    """Neighbouring networks of one noise setting and ρ across c and the sweep's seeds: at
    most as many distinct seeds as the sweep has; and its sweep is config.yaml's."""
    import yaml

    from efficient_synapses.training.speed import PAPER_SWEEP, sweep_group_specs

    config = yaml.safe_load((project_root / "config.yaml").read_text())
    assert {k: config["sweep"][k] for k in PAPER_SWEEP} == PAPER_SWEEP
    for k in (30, 240):
        specs = sweep_group_specs(k)
        assert len(specs) == k and len({s.seed for s in specs}) == 3
    first = sweep_group_specs(30)
    assert {(s.noise, s.rho) for s in first} == {("heterogeneous", "1/2")}
    assert [s.seed for s in first[:6]] == [0, 1, 2, 0, 1, 2]


def test_the_cuda_tests_script_runner_counts_a_skip_as_skipped(monkeypatch, capsys, project_root):
    """On a GPU machine without pytest, tests/test_engine_cuda.py runs as a script: a test
    that cannot run there (numpy absent, one GPU only) is reported skipped, never passed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "engine_cuda_script", project_root / "tests" / "test_engine_cuda.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in [n for n in vars(module) if n.startswith("test_")]:
        monkeypatch.delattr(module, name)
    monkeypatch.setattr(module, "pytest", None)  # script mode
    monkeypatch.setattr(module, "HAVE_CUDA", True)

    def test_passes():
        pass

    def test_skips():
        module.skip("needs two GPUs")

    def test_fails():
        raise AssertionError("wrong")

    for f in (test_passes, test_skips, test_fails):
        monkeypatch.setattr(module, f.__name__, f, raising=False)
    assert module._main() == 1
    out = capsys.readouterr().out
    assert "SKIPPED test_skips: needs two GPUs" in out and "PASSED test_skips" not in out
    assert out.strip().endswith("1 passed, 1 skipped, 1 failed")


@pytest.mark.integration
def test_gpu_check_cut_mid_benchmark_keeps_the_finished_rows_and_names_the_rest(
    mirror, project_root, tmp_path
):
    """The prepared GPU check on the CPU (--smoke), its benchmark cut by a short time limit
    in the middle of a row: the rows finished before it are in benchmark.csv, the log has
    what was printed, and summary.md names the cut and the rows not measured."""
    import csv
    import os
    import subprocess
    import sys

    out = tmp_path / "check"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "GPU_CHECK_TESTS": "0",
        "GPU_CHECK_BENCH_SECONDS": "25",
        # the K=64 row (two epochs of 3,000 steps) would take minutes: the limit falls
        # inside it
        "GPU_CHECK_BENCH_ARGS": "--paper-steps 5 --single-steps 10 --group-steps 1000000 "
        "--groups 64 --no-shared-rows --no-plain-rows --threads 1",
        "OMP_NUM_THREADS": "1",
        # on the CPU even where the suite runs on a GPU machine: there the benchmark would
        # add graph rows and the cut would land elsewhere
        "CUDA_VISIBLE_DEVICES": "",
    }
    # relative paths, run from another directory: resolved before the script's cd
    done = subprocess.run(
        [
            "bash",
            str(project_root / "workflow/benchmarks/gpu_check.sh"),
            os.path.relpath(mirror / "mnist", tmp_path),
            "check",
            "--smoke",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0, done.stdout[-2000:]  # a part was cut: the check fails
    with open(out / "benchmark.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["path"].split(" (")[0] for r in rows] == ["paper pattern", "ours, eager, K=1"]
    assert float(rows[1]["ms_per_step"]) > 0
    assert "ours, eager, K=1:" in (out / "benchmark.log").read_text()  # unbuffered
    summary = (out / "summary.md").read_text()
    assert "Benchmark cut by its time limit" in summary
    assert "2 of 3 rows measured; not measured: ours, eager, K=64" in summary
    assert "| ours, eager, K=1 |" in summary


# --- the GPU harness: what would spoil the first run on a GPU -----------------------------


BLOCK_NUMPY = """
import importlib.abc, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("numpy", "pandas", "scipy", "numba", "yaml", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = [sys.argv[1], "--help"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("script", ["train_speed.py", "paper_sweep.py"])
def test_the_gpu_scripts_start_on_a_machine_with_pytorch_alone(project_root, script):
    """A lent GPU machine may have PyTorch and nothing else: numpy (and every other
    package but torch) hidden, both benchmark scripts still import and start."""
    import subprocess
    import sys

    path = project_root / "workflow" / "benchmarks" / script
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_NUMPY, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usage:" in done.stdout


def test_a_benchmark_of_more_steps_than_the_data_hold_divides_by_the_steps_it_ran(monkeypatch):
    """The engine row trains two epochs of at most the training set: asked for 50 steps
    of 100 images (5 steps of 20), it divides the second epoch's time by 5, not by 50.
    The training is a stub that reports a known time, so the test times nothing."""
    from types import SimpleNamespace

    from efficient_synapses.training import speed

    seen = {}

    def fake_train(model, objective, data, options, log):
        seen["examples"], seen["epochs"] = len(data), options.epochs
        return SimpleNamespace(step_seconds=[9.0, 0.5], step_path="eager", step_path_reason="")

    monkeypatch.setattr(speed, "train", fake_train)
    gen = torch.Generator().manual_seed(0)
    data = Dataset(torch.rand(100, 784, generator=gen), torch.randint(0, 10, (100,), generator=gen))
    ms, path, _, _, timed = speed.engine_ms_per_step(data, torch.device("cpu"), 2, steps=50)
    assert seen == {"examples": 100, "epochs": 2}
    assert timed == 5 and path == "eager"
    assert ms == pytest.approx(0.5 / 5 * 1000)  # the second epoch's 0.5 s over its 5 steps
    ms, _, _, _, timed = speed.engine_ms_per_step(data, torch.device("cpu"), 2, steps=2)
    assert seen["examples"] == 40 and timed == 2 and ms == pytest.approx(0.5 / 2 * 1000)


def test_a_torchvision_built_for_another_torch_falls_back_to_the_emulated_dataset(
    monkeypatch, tmp_path
):
    """torchvision that fails with RuntimeError at import (built for another torch:
    'operator torchvision::nms does not exist') gives the per-item emulation, named."""
    import builtins

    from efficient_synapses.training import speed as benchmark

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name.startswith("torchvision"):
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    monkeypatch.setattr(benchmark, "_PerItemMNIST", lambda raw_dir: ["emulated", raw_dir])
    dataset, note = benchmark._paper_dataset(tmp_path, tmp_path)
    assert dataset[0] == "emulated" and "torchvision unusable" in note
