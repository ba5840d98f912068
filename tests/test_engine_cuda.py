"""The training engine on a CUDA device: graph capture, replay, fallback, streams, divergence.

Marked ``cuda`` and skipped where CUDA is absent. Runs under pytest
(``pytest -m cuda tests/test_engine_cuda.py``) or, on a GPU machine without pytest, as
a script (``PYTHONPATH=workflow python tests/test_engine_cuda.py``), which is what
``workflow/benchmarks/gpu_check.sh`` falls back to.
"""

from __future__ import annotations

import math
import sys
import tempfile
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from efficient_synapses.data.raw import Dataset  # noqa: E402
from efficient_synapses.training.engine import TrainOptions, evaluate, noise_generators, train  # noqa: E402
from efficient_synapses.training.model import StochasticMLP  # noqa: E402
from efficient_synapses.training.objectives import (  # noqa: E402
    EnergyEfficientObjective,
    VariationalObjective,
)

try:
    import pytest
except ImportError:  # the GPU machine may have no pytest: see the __main__ runner below
    pytest = None


class Skipped(Exception):  # noqa: N818  (a test outcome, like pytest's Skipped)
    """Raised by ``skip`` in script mode: the runner counts the test as skipped, never as
    passed."""


def skip(reason: str) -> None:
    """Skip the running test, under pytest or in script mode (``_main``)."""
    if pytest is not None:
        pytest.skip(reason)
    raise Skipped(reason)


HAVE_CUDA = torch.cuda.is_available()
if pytest is not None:
    pytestmark = [
        pytest.mark.cuda,
        pytest.mark.skipif(not HAVE_CUDA, reason="needs a CUDA device"),
    ]

DEVICE = torch.device("cuda", 0)


def quiet(_message):
    pass


def toy_data(n=120, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 12, generator=gen, dtype=dtype)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return Dataset(x, y)


NETWORKS = {  # (noise, seed, c, rho)
    "a": ("heterogeneous", 0, 0.01, 0.5),
    "b": ("homogeneous", 1, 0.1, 2.0),
    "c": ("heterogeneous", 2, 0.001, 4 / 3),
}


def build(names=("a", "b"), dtype=torch.float32, sigma_init=1e-2, device=DEVICE):
    spec = [NETWORKS[n] for n in names]
    model = StochasticMLP(
        [12, 8, 3],
        [s[0] for s in spec],
        [s[1] for s in spec],
        sigma_init=sigma_init,
        dtype=dtype,
        device=device,
    )
    objective = EnergyEfficientObjective(
        [s[2] for s in spec], [s[3] for s in spec], 1e-4, 120, 10, device=device, dtype=dtype
    )
    return model, objective


def flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def run(names=("a", "b"), dtype=torch.float32, objective_wrapper=None, **option_values):
    model, objective = build(names, dtype)
    if objective_wrapper is not None:
        objective = objective_wrapper(objective)
    options = TrainOptions(
        **{"epochs": 2, "batch_size": 10, "learning_rate": 1e-2, **option_values}
    )
    messages = []
    history = train(
        model,
        objective,
        toy_data(dtype=dtype),
        options,
        describe=list(names),
        log=messages.append,
    )
    return model, history, messages


def test_noise_advances_on_every_replay():
    """Fixed data, a learning rate too small to move the loss (1e-12: Adam with exactly 0
    divides by -0 in its capturable form): only the noise changes it from epoch to epoch."""
    model, objective = build(("a",), sigma_init=0.5)
    x = torch.randn(1, 12).expand(10, 12).contiguous()
    data = Dataset(x, torch.zeros(10, dtype=torch.long))  # one step per epoch, same batch
    history = train(model, objective, data, TrainOptions(10, 10, 1e-12), log=quiet)
    assert history.step_path == "cuda_graph", history.step_path_reason
    losses = [epoch[0] for epoch in history.loss]
    assert all(math.isfinite(v) for v in losses), losses
    replayed = losses[4:]  # epochs 1-3 warm up, 4 is captured, 5-10 are replays
    # σ = 0.5 moves the loss by far more than 1e-4 between draws; the learning rate by
    # about 1e-11: equal consecutive losses would mean the noise did not advance.
    steps = [abs(b - a) for a, b in zip(replayed, replayed[1:], strict=False)]
    assert min(steps) > 1e-4, losses


def test_graph_and_eager_steps_give_the_same_parameters():
    graph, g_history, messages = run()
    eager, e_history, _ = run(cuda_graph=False)
    assert g_history.step_path == "cuda_graph" and any("captured" in m for m in messages)
    assert e_history.step_path == "eager" and "cuda_graph is false" in e_history.step_path_reason
    assert torch.allclose(flat(graph), flat(eager), atol=1e-5, rtol=1e-5)


def test_two_identical_graph_runs_are_bitwise_equal():
    first, h1, _ = run()
    second, h2, _ = run()
    assert torch.equal(flat(first), flat(second)) and h1.loss == h2.loss


def test_resume_from_a_checkpoint_on_cuda():
    options = {"epochs": 4}
    reference, _, _ = run(**options)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "checkpoint.pt"
        model, objective = build()
        full = TrainOptions(4, 10, 1e-2)

        def interrupt(message):
            if message.startswith("epoch 2/"):
                raise KeyboardInterrupt

        try:
            train(model, objective, toy_data(), full, log=interrupt, checkpoint_path=checkpoint)
        except KeyboardInterrupt:
            pass
        assert checkpoint.exists()
        model, objective = build()
        messages = []
        history = train(
            model, objective, toy_data(), full, log=messages.append, checkpoint_path=checkpoint
        )
    assert any("resuming" in m for m in messages) and history.step_path == "cuda_graph"
    assert torch.allclose(flat(model), flat(reference), atol=1e-6, rtol=0)


def test_a_network_trains_the_same_alone_and_in_a_group_on_cuda():
    group, _, _ = run(("c", "a", "b"), dtype=torch.float64, epochs=3)
    for k, name in enumerate(("c", "a", "b")):
        alone, history, _ = run((name,), dtype=torch.float64, epochs=3)
        assert history.step_path == "cuda_graph"
        for p_group, p_alone in zip(group.parameters(), alone.parameters(), strict=True):
            assert (p_group[k] - p_alone[0]).abs().max().item() <= 1e-6, name
        data = toy_data(dtype=torch.float64)
        acc_group = evaluate(group, data, True, 30, noise_generators(group, "per_network", 1))
        acc_alone = evaluate(alone, data, True, 30, noise_generators(alone, "per_network", 1))
        assert acc_group["accuracy"][k] == acc_alone["accuracy"][0]


class HostSyncOnce:
    """An objective that reads the loss on the host: legal eagerly, fatal in a capture."""

    def __init__(self, objective):
        self.objective = objective

    def __call__(self, model, x, y, generator=None):
        value = self.objective(model, x, y, generator)
        value.loss.sum().item()
        return value


def test_a_failed_capture_falls_back_to_identical_eager_steps():
    stream_before = torch.cuda.current_stream(DEVICE)
    model, history, messages = run(objective_wrapper=HostSyncOnce)
    assert history.step_path == "eager" and "capture failed" in history.step_path_reason
    assert any("continuing with eager steps" in m for m in messages)
    assert torch.cuda.current_stream(DEVICE) == stream_before  # the stream was restored
    torch.randn(3, device=DEVICE)  # the default generator draws again
    eager, _, _ = run(cuda_graph=False)
    assert torch.allclose(flat(model), flat(eager), atol=1e-5, rtol=1e-5)


class NaNAtStep:
    """Network ``k``'s loss times NaN at step ``step``, counted on the device (graph-safe)."""

    def __init__(self, objective, k=1, step=17):
        self.objective, self.k, self.step = objective, k, step
        self.count = torch.zeros((), dtype=torch.long, device=DEVICE)

    def __call__(self, model, x, y, generator=None):
        value = self.objective(model, x, y, generator)
        self.count += 1
        bad = (torch.arange(value.loss.shape[0], device=DEVICE) == self.k) & (
            self.count == self.step
        )
        value.loss = value.loss * torch.where(bad, float("nan"), 1.0).to(value.loss.dtype)
        return value


def test_a_nan_in_one_network_freezes_it_inside_the_graph():
    names = ("a", "b", "c")
    reference, _, _ = run(names, epochs=3)
    model, history, messages = run(
        names, epochs=3, objective_wrapper=NaNAtStep, on_non_finite="isolate"
    )
    assert history.step_path == "cuda_graph"
    assert history.diverged_step == [None, 17, None] and history.diverged_epoch == [None, 2, None]
    assert any(m.startswith("DIVERGED b") for m in messages)
    for k in (0, 2):
        for p, r in zip(model.parameters(), reference.parameters(), strict=True):
            assert torch.allclose(p[k], r[k], atol=1e-6, rtol=0)
    assert all(torch.isfinite(p[1]).all() for p in model.parameters())


class NaNLossAtStep:
    """The performance cost made NaN for network 1 at call 17: the fused step's path (its
    objective stays one it knows)."""

    def __init__(self, objective):
        self.loss, self.calls = objective.loss, 0
        objective.loss = self
        self.objective = objective

    def __call__(self, logits, labels):
        self.calls += 1
        value = self.loss(logits, labels)
        if self.calls == 17:
            bad = torch.arange(value.shape[0], device=value.device) == 1
            value = value * torch.where(bad, float("nan"), 1.0).to(value.dtype)
        return value


def test_a_nan_in_one_network_freezes_it_inside_the_graph_of_the_fused_step():
    names = ("a", "b", "c")
    reference, _, _ = run(names, epochs=3)
    model, history, _ = run(
        names,
        epochs=3,
        objective_wrapper=lambda objective: NaNLossAtStep(objective).objective,
        on_non_finite="isolate",
    )
    assert history.step_path == "cuda_graph", history.step_path_reason
    assert history.diverged_step == [None, 17, None]
    for k in (0, 2):
        for p, r in zip(model.parameters(), reference.parameters(), strict=True):
            assert torch.allclose(p[k], r[k], atol=1e-6, rtol=0)
    assert all(torch.isfinite(p[1]).all() for p in model.parameters())


def test_the_fused_step_in_a_graph_equals_autograd_on_cuda_and_the_cpu():
    """float64: the step by formula replayed from a CUDA graph, the autograd step on CUDA
    and the step by formula on the CPU (numba where installed) land together."""
    names = ("a", "b", "c")
    fused, f_history, _ = run(names, dtype=torch.float64)
    autograd, a_history, _ = run(names, dtype=torch.float64, step="autograd")
    assert f_history.step_path == a_history.step_path == "cuda_graph"
    assert torch.allclose(flat(fused), flat(autograd), atol=1e-9, rtol=0)
    model, objective = build(names, torch.float64, device=torch.device("cpu"))
    options = TrainOptions(2, 10, 1e-2)
    train(model, objective, toy_data(dtype=torch.float64), options, log=quiet)
    assert torch.allclose(flat(fused).cpu(), flat(model), atol=1e-9, rtol=0)


def test_the_statistics_hook_runs_on_cuda_as_on_the_cpu():
    try:
        from efficient_synapses.synapses.extract import extract_statistics
    except ImportError as err:  # numpy missing on a bare GPU machine
        skip(f"curvature statistics need {err.name}")
    results = {}
    for device in ("cpu", DEVICE):
        model, _ = build(("a",), dtype=torch.float64, device=device)
        results[str(device)] = extract_statistics(
            model, toy_data(dtype=torch.float64), 2, 10, 1e-2, log=quiet
        )
    cpu, cuda = results["cpu"], results[str(DEVICE)]
    assert cpu.keys() == cuda.keys()
    for key in cpu:
        a, b = torch.as_tensor(cpu[key]), torch.as_tensor(cuda[key])
        assert torch.allclose(a.double(), b.double(), rtol=1e-6, atol=1e-9), key


def test_the_variational_objective_trains_in_a_graph():
    model, _ = build(("a",))
    objective = VariationalObjective("laplace", 1e4, n_train=120, batch_size=10)
    history = train(model, objective, toy_data(), TrainOptions(6, 10, 1e-2), log=quiet)
    assert history.step_path == "cuda_graph", history.step_path_reason
    losses = [epoch[0] for epoch in history.loss]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]


def test_a_missing_gpu_is_named():
    from efficient_synapses.training.engine import resolve_device

    count = torch.cuda.device_count()
    try:
        resolve_device(f"cuda:{count}")
    except RuntimeError as err:
        assert f"'cuda:{count}'" in str(err)
    else:
        raise AssertionError(f"cuda:{count} was accepted on a machine with {count} GPU(s)")


def test_a_gpu_other_than_the_first_trains_there():
    """cuda:N with N > 0: seeding, streams and capture must act on GPU N, not on the
    current device 0. A one-GPU machine cannot show it: skipped there, never passed."""
    from efficient_synapses.training.engine import resolve_device

    count = torch.cuda.device_count()
    if count < 2:
        skip(f"needs two GPUs to train on a non-zero index; this machine has {count}")
    last = resolve_device(f"cuda:{count - 1}")
    assert last.index == count - 1 > 0
    model, objective = build(("a",), device=last)
    before = flat(model).clone()
    history = train(model, objective, toy_data(), TrainOptions(2, 10, 1e-2), log=quiet)
    assert history.step_path == "cuda_graph" and not torch.equal(flat(model), before)
    assert all(p.device == last for p in model.parameters())


def _main() -> int:
    """Run every test here without pytest; exit status 1 if any fails."""
    if not HAVE_CUDA:
        print("SKIPPED: CUDA is not available (every test of this file needs it)")
        return 0
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    failed = skipped = 0
    for name, function in tests:
        try:
            function()
        except Skipped as reason:
            skipped += 1
            print(f"SKIPPED {name}: {reason}")
        except Exception:  # noqa: BLE001  (report every failure, then the count)
            failed += 1
            print(f"FAILED {name}\n{traceback.format_exc()}")
        else:
            print(f"PASSED {name}")
    print(f"{len(tests) - failed - skipped} passed, {skipped} skipped, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
