"""The one training engine: every network of the workflow is trained here.

Data live on the device as one tensor; each network draws its minibatches from
its own per-epoch permutation seeded by (seed, epoch) and its weight noise from
its own generator seeded from its seed, so a network sees the same batches and
the same noise whether it is trained alone or in a group. Metrics are
accumulated on the device and read once per epoch (no host synchronisation per
step). A network whose loss or gradient turns non-finite is frozen and recorded
while the rest of its group trains on (``on_non_finite="isolate"``). On CUDA the
step is captured once as a CUDA graph and replayed (``GraphStepper``; a failed
capture falls back to identical eager steps, and the history says which path
ran). The engine checkpoints after every epoch and resumes from the checkpoint,
so a killed job continues where it stopped with identical results.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..artefacts import save_torch
from ..data.raw import Dataset
from .fused import AdamSettings, FusedStep
from .model import StochasticMLP, network_noise_generators, noise_stream_seed
from .regulariser import regulariser_of

NOISE_STREAMS = ("per_network", "shared")
ON_NON_FINITE = ("raise", "isolate")
# "fused": the step by formula (``fused``) where the objective allows it, else autograd;
# "autograd": autograd through the whole objective and torch.optim.Adam (the reference).
STEPS = ("fused", "autograd")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (or gradient)."""


class StopTraining(Exception):  # noqa: N818  (a signal, not an error)
    """Raised by ``after_epoch`` to end training after this epoch (e.g. a time budget).

    ``values`` are the epoch's metrics, kept as ``after_epoch``'s return value would be;
    ``train`` checkpoints the epoch and returns the history so far (``history.stopped``).
    """

    def __init__(self, reason: str, values: dict[str, list[float]] | None = None):
        super().__init__(reason)
        self.values = values or {}


@dataclass
class TrainOptions:
    epochs: int
    batch_size: int
    learning_rate: float
    # Stream number of the weight noise: network k draws from a generator seeded with
    # noise_stream_seed(seed_k, noise_seed) ("per_network"), or the group from one
    # generator seeded with noise_seed ("shared").
    noise_seed: int = 0
    # Stream of the data order (epoch_permutation): 0 for training jobs, another number for
    # fits that must not replay a trained network's minibatch sequence.
    data_stream: int = 0
    # Adam learning rate of the noise parameters φ (σ = softplus(φ)); None: learning_rate.
    # Adam moves φ ≈ log σ by at most about this much per step, so it sets how many
    # steps σ needs to reach its equilibrium from its initial value.
    sigma_learning_rate: float | None = None
    # On CUDA, capture the whole step (sampling, forward, backward, Adam) once as a
    # CUDA graph and replay it; ignored on the CPU and in statistics passes.
    cuda_graph: bool = True
    update: bool = True  # False: forward/backward only (statistics passes)
    log_every: int = 1  # progress line every this many epochs (and after the last)
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    # "per_network": each network draws its noise from its own generator, seeded from
    # its own seed, so its numbers do not depend on the group it is trained in;
    # "shared": one generator for the whole group (one draw per layer, fewer kernels).
    noise_streams: str = "per_network"
    # A non-finite loss or gradient: "raise" stops with an error naming the networks;
    # "isolate" freezes those networks (no further update), records the step, and the
    # rest of the group trains on.
    on_non_finite: str = "raise"
    # How a training step computes its gradients and applies Adam (STEPS), and, for the
    # fused step, with which kernels: "auto" (numba on the CPU where installed, else
    # PyTorch), "numba" or "torch" (``fused.FusedStep``).
    step: str = "fused"
    fused_backend: str = "auto"

    def __post_init__(self):
        if self.step not in STEPS:
            raise ValueError(f"step must be one of {STEPS}, got {self.step!r}")
        if self.noise_streams not in NOISE_STREAMS:
            raise ValueError(
                f"noise_streams must be one of {NOISE_STREAMS}, got {self.noise_streams!r}"
            )
        if self.on_non_finite not in ON_NON_FINITE:
            raise ValueError(
                f"on_non_finite must be one of {ON_NON_FINITE}, got {self.on_non_finite!r}"
            )


@dataclass
class TrainHistory:
    epoch: list[int] = field(default_factory=list)
    # Per epoch, per network: means over the epoch's steps with a finite loss (NaN when
    # a network had none: it diverged earlier).
    loss: list[list[float]] = field(default_factory=list)
    train_accuracy: list[list[float]] = field(default_factory=list)
    parts: list[dict[str, list[float]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    # Per epoch: the steps alone, from the first step to the end-of-epoch host read
    # (which waits for the device), without the epoch's permutations: what the
    # benchmark times.
    step_seconds: list[float] = field(default_factory=list)
    # What ``after_epoch`` returned after each epoch: {name: value per network}.
    epoch_metrics: list[dict[str, list[float]]] = field(default_factory=list)
    # Per network: the step (counted from 1 over the whole run) and the epoch in which
    # its loss or a gradient first became non-finite; None if it never did.
    diverged_step: list[int | None] = field(default_factory=list)
    diverged_epoch: list[int | None] = field(default_factory=list)
    # How the training steps ran ("cuda_graph" or "eager") and, for eager, why.
    step_path: str = ""
    step_path_reason: str = ""
    # Why training ended before options.epochs (``StopTraining``); "" when it did not.
    stopped: str = ""


# Data-order streams are mixed with seeds apart from the noise streams' numbers.
DATA_ORDER_STREAMS = 1 << 20


def epoch_permutation(seed: int, epoch: int, n: int, stream: int = 0) -> torch.Tensor:
    """The order in which a network with this seed visits the data in this epoch.

    ``stream`` 0 is the order of training jobs; another stream gives an order of its own
    for the same seed (a variational fit of a trained network must not replay the very
    minibatch sequence the network saw: a shared path correlates the two fits).
    """
    if stream == 0:
        key = int(seed) * 1_000_003 + int(epoch)
    else:
        key = (noise_stream_seed(seed, DATA_ORDER_STREAMS + int(stream)) + int(epoch)) % (1 << 63)
    gen = torch.Generator().manual_seed(key)
    return torch.randperm(n, generator=gen)


def _format_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


class NoiseStreams:
    """The generators the weight noise is drawn from: one per distinct network seed
    (``model.NetworkNoise``), or one shared by the group."""

    def __init__(self, model: StochasticMLP, options: TrainOptions, device):
        self.per_network = options.noise_streams == "per_network"
        if self.per_network:
            self.network_noise = network_noise_generators(model.seeds, device, options.noise_seed)
        else:
            gen = torch.Generator(device=device).manual_seed(int(options.noise_seed))
            self._shared = [gen]

    @property
    def generators(self) -> list[torch.Generator]:
        return self.network_noise.generators if self.per_network else self._shared

    @generators.setter
    def generators(self, generators: list[torch.Generator]) -> None:
        if len(generators) != len(self.generators):
            raise ValueError(f"{len(generators)} generators for {len(self.generators)} streams")
        if self.per_network:
            self.network_noise.generators = list(generators)
        else:
            self._shared = list(generators)

    @property
    def sampling_arg(self):
        """What ``StochasticMLP.sample_weights`` takes: the streams, or the one generator."""
        return self.network_noise if self.per_network else self._shared[0]

    def get_state(self) -> list[torch.Tensor]:
        return [g.get_state() for g in self.generators]

    def set_state(self, states: list[torch.Tensor]) -> None:
        if len(states) != len(self.generators):
            raise RuntimeError(
                f"{len(states)} saved noise-generator states for {len(self.generators)} streams"
            )
        for g, state in zip(self.generators, states, strict=True):
            g.set_state(state)


class GraphBackend:
    """How a ``GraphStepper`` warms up, captures and, after a failed capture, restores.

    This base class holds the device-independent parts; ``CudaGraphBackend`` is the
    real one, and tests inject a fake to run the stepper's control flow on the CPU.
    """

    def warmup(self, step: Callable[[], None]) -> None:
        step()

    def capture(self, step: Callable[[], None], generators: list[torch.Generator]):
        """Record ``step`` (drawing from ``generators``) without running it; returns an
        object whose ``replay()`` runs the recorded step. Raises if capture fails."""
        raise NotImplementedError

    def restore_generators(
        self, generators: list[torch.Generator], states: list[torch.Tensor]
    ) -> list[torch.Generator]:
        """Fresh generators in the given states (a failed capture may leave the old ones
        in capture mode, where every eager draw raises)."""
        fresh = []
        for gen, state in zip(generators, states, strict=True):
            new = torch.Generator(device=gen.device)
            new.set_state(state)
            fresh.append(new)
        return fresh


class CudaApi:
    """The CUDA calls a ``CudaGraphBackend`` makes, in one place, so that tests can run its
    control flow on the CPU with a stand-in (``tests/test_engine.py``)."""

    def current_stream(self, device):
        return torch.cuda.current_stream(device)

    def new_stream(self, device):
        return torch.cuda.Stream(device)

    def stream(self, stream):
        return torch.cuda.stream(stream)

    def synchronize(self, device) -> None:
        torch.cuda.synchronize(device)

    def new_graph(self):
        return torch.cuda.CUDAGraph()

    def graph_pool_handle(self):
        return torch.cuda.graph_pool_handle()

    def end_allocate_to_pool(self, index: int, pool) -> None:
        torch._C._cuda_endAllocateToPool(index, pool)

    def release_pool(self, index: int, pool) -> None:
        torch._C._cuda_releasePool(index, pool)

    def default_generator(self, index: int) -> torch.Generator:
        return torch.cuda.default_generators[index]


class CudaGraphBackend(GraphBackend):
    """Warm-up on a side stream; capture with every noise generator registered, into a
    private memory pool of our own (``graph_pool_handle``), released if capture fails."""

    def __init__(self, device: torch.device, api: CudaApi | None = None):
        self.device = device
        self.api = CudaApi() if api is None else api
        self._default_state = None

    def warmup(self, step):
        api = self.api
        current = api.current_stream(self.device)
        side = api.new_stream(self.device)
        side.wait_stream(current)
        with api.stream(side):
            step()
        current.wait_stream(side)

    def capture(self, step, generators):
        api, index = self.api, self.device.index
        current = api.current_stream(self.device)
        default = api.default_generator(index)
        self._default_state = default.get_state()
        graph = api.new_graph()
        # Replays must advance each network's own generator: register them (PyTorch
        # >= 2.4); the default generator is registered by capture_begin itself.
        for gen in generators:
            graph.register_generator_state(gen)
        api.synchronize(self.device)
        stream = api.new_stream(self.device)
        stream.wait_stream(current)
        # Our own handle, not graph.pool(): after a failed capture graph.pool() raises,
        # and a pool never released leaves the allocator routing to it (the next
        # empty_cache or out-of-memory retry then fails an internal assert).
        pool = api.graph_pool_handle()
        # torch.cuda.graph's __exit__ ends the capture before it restores the stream, so
        # a failing capture_end leaves the capture stream current. Here the ``with``
        # restores the stream whatever happens inside.
        with api.stream(stream):
            graph.capture_begin(pool=pool)
            ended = False
            try:
                step()
                graph.capture_end()
                ended = True
            except BaseException:
                if not ended:
                    with contextlib.suppress(Exception):
                        graph.capture_end()
                # Whether or not capture_end got as far as handing the allocator back,
                # stop routing this stream's allocations to the pool, then free it.
                with contextlib.suppress(Exception):
                    api.end_allocate_to_pool(index, pool)
                with contextlib.suppress(Exception):
                    api.release_pool(index, pool)
                raise
        current.wait_stream(stream)
        return graph

    def restore_generators(self, generators, states):
        fresh = super().restore_generators(generators, states)
        # capture_begin put the default CUDA generator in capture mode as well: give it
        # back a state outside any capture, then prove that it draws.
        default = self.api.default_generator(self.device.index)
        if self._default_state is not None:
            repaired = torch.Generator(device=self.device)
            repaired.set_state(self._default_state)
            default.graphsafe_set_state(repaired.graphsafe_get_state())
        torch.randn(1, device=self.device)  # raises if the default generator is still capturing
        if self._default_state is not None:
            default.set_state(self._default_state)
        return fresh


class GraphStepper:
    """Runs the training step eagerly, or as warm-up, capture, then graph replays.

    With ``backend=None`` every step runs eagerly. With a backend the first ``warmup``
    steps run through ``backend.warmup``; the next one is captured (recorded, not run)
    with the noise generators registered, then replayed; every later step is a replay.
    If capture raises, the generator states saved just before it are restored into
    fresh generators and this and every later step run eagerly, so the parameters are
    those of an eager run; if the generators cannot be restored, training stops with
    an error that gives the capture's reason. ``path`` and ``reason`` say what ran.
    """

    # Eager steps before the capture, as CUDA graphs require (lazy state, cuBLAS handles).
    WARMUP_DEFAULT = 3

    def __init__(
        self, step, streams: NoiseStreams, backend=None, warmup=WARMUP_DEFAULT, log=print, reason=""
    ):
        self._step, self.streams, self.backend = step, streams, backend
        self.warmup, self.log = warmup, log
        self.graph = None
        self.steps_done = 0
        self.path = "eager"
        self.reason = reason if backend is None else "warm-up steps only (no capture yet)"

    def step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        elif self.backend is None:
            self._step()
        elif self.steps_done < self.warmup:
            self.backend.warmup(self._step)
        else:
            self._capture_and_run()
        self.steps_done += 1

    def _capture_and_run(self) -> None:
        states = self.streams.get_state()
        try:
            graph = self.backend.capture(self._step, self.streams.generators)
        except Exception as err:  # noqa: BLE001  (any capture failure: restore, go eager)
            first_line = (str(err).strip().splitlines() or [""])[0]
            reason = f"CUDA graph capture failed: {type(err).__name__}: {first_line}"
            try:
                restored = self.backend.restore_generators(self.streams.generators, states)
            except Exception as restore_err:
                raise RuntimeError(
                    f"{reason}; the noise generators could not be restored afterwards "
                    f"({restore_err!r}), so training cannot continue with the same noise. "
                    "Set training.cuda_graph: false to train with eager steps."
                ) from err
            self.streams.generators = restored
            self.backend, self.path, self.reason = None, "eager", reason
            self.log(f"{reason}; noise generators restored, continuing with eager steps")
            self._step()
            return
        self.graph = graph
        self.graph.replay()  # capture records the step without running it
        self.path, self.reason = "cuda_graph", ""
        self.log("training step captured as a CUDA graph")


class _TrainingStep:
    """One step over the minibatch ``batch_idx`` (K, B), with on-device bookkeeping.

    Everything per step stays on the device (graph-safe, no host synchronisation):
    sums of loss, parts and correct answers over the steps with a finite loss; the
    ``alive`` mask and the step at which each network first had a non-finite loss or
    gradient. With ``on_non_finite="isolate"``, a network that is not alive gets its
    gradient and Adam moments set to zero before Adam's step (by masked_fill, not by
    multiplying, as NaN·0 is NaN), so its update is exactly zero: its parameters stay at
    their last, finite values (an update is applied only from a finite loss and
    finite gradients).
    """

    def __init__(self, model, objective, optimiser, inputs, labels, options, streams, hook):
        self.model, self.objective, self.optimiser = model, objective, optimiser
        self.inputs, self.labels, self.update = inputs, labels, options.update
        self.streams, self.after_backward = streams, hook
        # Freezing is needed only when a diverged network must keep training beside the
        # others; "raise" stops at the end of the epoch, and a non-finite gradient shows
        # as a non-finite loss one step later, so the loss check alone suffices there.
        self.isolate = options.update and options.on_non_finite == "isolate"
        device, k = inputs.device, model.n_networks
        self.params = [p for group in optimiser.param_groups for p in group["params"]]
        self.batch_idx = torch.zeros(k, options.batch_size, dtype=torch.long, device=device)
        self.loss_sum = torch.zeros(k, dtype=torch.float64, device=device)
        self.correct = torch.zeros(k, dtype=torch.long, device=device)
        self.finite_steps = torch.zeros(k, dtype=torch.long, device=device)
        self.part_sums: dict[str, torch.Tensor] = {}
        self.has_accuracy = True
        self.alive = torch.ones(k, dtype=torch.bool, device=device)
        self.diverged_step = torch.full((k,), -1, dtype=torch.long, device=device)
        self.step_count = torch.zeros((), dtype=torch.long, device=device)
        # On the CPU a host read is free, so the freezing is skipped while every
        # network is alive; on a GPU it always runs (a read would synchronise).
        self.host_checks = device.type == "cpu"
        self._masks: list[torch.Tensor] | None = None

    def reset(self) -> None:
        for v in (self.loss_sum, self.correct, self.finite_steps, *self.part_sums.values()):
            v.zero_()

    def state(self) -> dict:
        return {
            "alive": self.alive.cpu(),
            "diverged_step": self.diverged_step.cpu(),
            "step_count": self.step_count.cpu(),
        }

    def load_state(self, state: dict) -> None:
        self.alive.copy_(state["alive"])
        self.diverged_step.copy_(state["diverged_step"])
        self.step_count.copy_(state["step_count"])

    def __call__(self) -> None:
        self.optimiser.zero_grad(set_to_none=True)
        idx = self.batch_idx
        x, y = self.inputs[idx], self.labels[idx]
        value = self.objective(self.model, x, y, self.streams.sampling_arg)
        value.loss.sum().backward()
        if self.after_backward is not None:
            self.after_backward(self.model, value, idx)
        with torch.no_grad():
            loss = value.loss.detach()
            finite = torch.isfinite(loss)
            k = loss.shape[0]
            grads = [p.grad for p in self.params if p.grad is not None]
            if self.isolate and grads:
                # One non-finite element makes its network's sum non-finite.
                grad_sum = sum(g.reshape(k, -1).sum(1) for g in grads)
                finite &= torch.isfinite(grad_sum)
            self.step_count += 1
            newly = self.alive & ~finite
            self.diverged_step.copy_(torch.where(newly, self.step_count, self.diverged_step))
            self.alive &= finite
            if self.update:
                if self.isolate and (not self.host_checks or not bool(self.alive.all())):
                    self._freeze_dead()
                self.optimiser.step()
            self._accumulate(loss, value.parts, value.correct)

    def _accumulate(self, loss, parts, correct) -> None:
        """The step's loss, parts and correct answers into the epoch's sums (live networks)."""
        alive = self.alive
        self.finite_steps += alive
        self.loss_sum += torch.where(alive, loss, 0.0)
        self.has_accuracy = correct is not None
        if correct is not None:
            self.correct += torch.where(alive, correct, 0)
        for name, part in parts.items():
            if name not in self.part_sums:
                self.part_sums[name] = torch.zeros_like(self.loss_sum)
            self.part_sums[name] += torch.where(alive, part.detach(), 0.0)

    def _freeze_dead(self) -> None:
        """Zero the gradient and Adam's first moment of every network that is not alive.

        With both zero, Adam's update m̂/(√v̂ + ε) is exactly 0 in this step and, since the
        gradient stays zeroed, in every later one: the second moment needs no zeroing.
        Two masked fills per parameter tensor (on a GPU inside the captured step, where
        the fills run even while every network is alive: a host check would synchronise).
        """
        for p, mask in zip(self.params, self._dead_masks(), strict=True):
            if p.grad is not None:
                p.grad.masked_fill_(mask, 0.0)
            state = self.optimiser.state.get(p)
            if state:
                state["exp_avg"].masked_fill_(mask, 0.0)

    def _dead_masks(self) -> list[torch.Tensor]:
        """Per parameter tensor, ``~alive`` viewed to broadcast over it (views, made once)."""
        if self._masks is None:
            self._dead = torch.zeros_like(self.alive)
            self._masks = [self._dead.view(-1, *([1] * (p.dim() - 1))) for p in self.params]
        torch.logical_not(self.alive, out=self._dead)
        return self._masks


def fused_regulariser(model, objective, options: TrainOptions, after_backward):
    """The objective's per-synapse terms where the step may run by formula (``fused``):
    training (not a statistics pass), no hook after the backward pass, ``options.step``
    "fused", an objective the fused step knows and parameters in flat rows; else None."""
    if options.step != "fused" or not options.update or after_backward is not None:
        return None
    if not isinstance(model, StochasticMLP) or not model.flat_rows_intact():
        return None
    return regulariser_of(objective, model)


class _FusedOptimiserState:
    """What the checkpoint saves and restores of a fused step (``FusedStep.state``)."""

    param_groups: list = []  # the step's Adam is its own, over the flat rows

    def __init__(self, step: FusedStep):
        self.step = step

    def state_dict(self) -> dict:
        return self.step.optimiser_state()

    def load_state_dict(self, state: dict) -> None:
        self.step.load_optimiser_state(state)


class _FusedTrainingStep(_TrainingStep):
    """``_TrainingStep``'s bookkeeping around a step by formula (``FusedStep``): the noise
    of every distinct seed drawn into one flat row each (or, with one shared stream, each
    layer's draw for the group, as ``StochasticMLP.sample_weights`` draws it), the fused
    step's loss and finiteness, then its update of the networks that are alive."""

    def __init__(self, step: FusedStep, inputs, labels, options, streams: NoiseStreams):
        self.fused = step
        self.optimiser = _FusedOptimiserState(step)
        super().__init__(
            step.model, step.objective, self.optimiser, inputs, labels, options, streams, None
        )
        model = step.model
        device = inputs.device
        if streams.per_network:
            n_rows = len(streams.network_noise.generators)
            self.rows = streams.network_noise.rows_on(device)
        else:
            n_rows = model.n_networks
            self.rows = torch.arange(model.n_networks, device=device)
        self.noise = torch.empty(n_rows, model.n_synapses, dtype=model.flat_mu.dtype, device=device)

    def _draw_noise(self) -> None:
        if self.streams.per_network:
            for row, gen in zip(self.noise, self.streams.generators, strict=True):
                row.normal_(generator=gen)
            return
        gen, offset = self.streams.generators[0], 0
        for mw, mb in self.model.means():
            for mean in (mw, mb):
                n = mean[0].numel()
                draw = torch.randn(mean.shape, generator=gen, dtype=mean.dtype, device=mean.device)
                self.noise[:, offset : offset + n].copy_(draw.flatten(1))
                offset += n

    def __call__(self) -> None:
        idx = self.batch_idx
        x, y = self.inputs[idx], self.labels[idx]
        self._draw_noise()
        loss, parts, correct, grads_finite = self.fused(x, y, self.noise, self.rows)
        with torch.no_grad():
            finite = torch.isfinite(loss)
            if self.isolate:
                finite &= grads_finite.to(finite.device)
            self.step_count += 1
            newly = self.alive & ~finite
            self.diverged_step.copy_(torch.where(newly, self.step_count, self.diverged_step))
            self.alive &= finite
            # "raise": every network updates (a non-finite one stops the run at the epoch's
            # end); "isolate": only the live ones.
            self.fused.apply(self.alive if self.isolate else torch.ones_like(self.alive))
            self._accumulate(loss, parts, correct)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_allocator_tuned = False


def keep_freed_cpu_memory() -> bool:
    """Make freed CPU memory reusable without page faults, for the rest of the process.

    A CPU step allocates and frees dozens of (K, out, in) temporaries, each megabytes.
    glibc serves such blocks with mmap and returns them to the system on free, so every
    allocation of the next step touches fresh pages: page faults cost a K = 30 step on
    one thread about a third of its time. With mmap off and no trimming, freed blocks
    stay in the heap and the next step reuses them; the peak memory is the same. Values
    are not affected. Returns whether the setting took (glibc on Linux only); idempotent.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): leave the allocator alone
        return False
    _allocator_tuned = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _allocator_tuned


def _eager_reason(options: TrainOptions, device, after_backward) -> str:
    """Why a run takes eager steps; "" when it may capture a CUDA graph."""
    if not options.update:
        return "statistics pass (no parameter update)"
    if after_backward is not None:
        return "a hook runs after every backward pass"
    if device.type != "cuda":
        return f"device {device} (CUDA graphs need a CUDA device)"
    if not options.cuda_graph:
        return "training.cuda_graph is false"
    return ""


def train(
    model: StochasticMLP,
    objective: Callable,
    data: Dataset,
    options: TrainOptions,
    describe: list[str] | None = None,
    checkpoint_path: str | Path | None = None,
    log: Callable[[str], None] = print,
    after_backward: Callable[[StochasticMLP, object, torch.Tensor], None] | None = None,
    after_epoch: Callable[[int, StochasticMLP], dict[str, list[float]]] | None = None,
    graph_backend: GraphBackend | None = None,
    epoch_done: Callable[[TrainHistory], None] | None = None,
) -> TrainHistory:
    """Train (or, with ``update=False``, only pass over the data with) ``model``.

    ``describe`` names each network (its hyper-parameters) in logs and errors.
    ``after_backward(model, objective_value, batch_indices)`` runs after every
    backward pass, before the optimiser step: statistics passes hook in here.
    ``after_epoch(epoch, model)`` runs after every epoch (numbered from 1) and returns
    named per-network values (e.g. RMS σ, a test accuracy) kept in
    ``history.epoch_metrics``; it must not draw from the training noise streams.
    ``epoch_done(history)`` runs after each epoch's checkpoint with the history so far
    (e.g. to append the epoch's rows to a file, so a run cut short keeps them).
    ``graph_backend`` replaces the CUDA-graph machinery (tests inject a fake); by
    default a CUDA device captures the step unless ``options`` or a hook forbid it.
    The whole run takes place with the model's device as the current CUDA device.
    """
    device = model.mu_w[0].device
    check_cuda_device(device)
    # Seeding, streams and capture act on the *current* CUDA device: make it the model's.
    on_device = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with on_device:
        return _train(
            model,
            objective,
            data,
            options,
            describe,
            checkpoint_path,
            log,
            after_backward,
            after_epoch,
            graph_backend,
            epoch_done,
        )


def resolve_device(name: str) -> torch.device:
    """The torch device ``training.device`` names, with its index; an error names a
    device that this machine does not have (a job never falls back silently)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"training.device {name!r} is not a torch device: {err}") from err
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"training.device {name!r}: expected auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"training.device is {name!r} but CUDA is not available here")
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if device.index is None else device.index
        if not 0 <= index < count:
            raise RuntimeError(
                f"training.device is {name!r} but this machine has {count} CUDA device(s)"
                + (f": cuda:0 to cuda:{count - 1}" if count else "")
            )
        device = torch.device("cuda", index)
    return device


def check_cuda_device(device: torch.device) -> None:
    """Stop with an error naming ``device`` if it is not a CUDA device of this machine."""
    if device.type != "cuda":
        return
    if not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} requested but CUDA is not available here")
    count = torch.cuda.device_count()
    if device.index is not None and not 0 <= device.index < count:
        raise RuntimeError(
            f"device {str(device)!r} does not exist: this machine has {count} CUDA device(s)"
            + (f" (cuda:0 to cuda:{count - 1})" if count else "")
        )


def adam_settings(device: torch.device, contiguous: bool = True) -> dict:
    """Adam's implementation switches on ``device``: the fused kernel on the CPU and on
    CUDA (one kernel for all parameters of a step, instead of a dozen elementwise passes
    per parameter, or on CUDA the per-parameter loop that ``fused=False`` falls back to
    without ``foreach``); ``capturable`` on CUDA, so the step counts stay on the device
    and the step can be captured in a CUDA graph. Graph and eager steps use the same
    arithmetic, so the two give the same parameters. The fused kernel reads its tensors as
    contiguous memory: parameters that are strided views (a group's layers, views of its
    flat rows) take the ``foreach`` implementation, which honours strides."""
    on_cuda = device.type == "cuda"
    fused = contiguous and device.type in ("cpu", "cuda")
    return {"capturable": on_cuda, "fused": fused, "foreach": None if fused else True}


def _make_optimiser(model: StochasticMLP, options: TrainOptions, device) -> torch.optim.Adam:
    """Adam over μ (``learning_rate``) and the noise parameters φ (``sigma_learning_rate``)."""
    noise_params = [*model.phi_w, *model.phi_b, model.phi_shared]
    noise_ids = {id(p) for p in noise_params}
    mean_params = [p for p in model.parameters() if id(p) not in noise_ids]
    return torch.optim.Adam(
        [
            {"params": mean_params},
            {"params": noise_params, "lr": options.sigma_learning_rate or options.learning_rate},
        ],
        lr=options.learning_rate,
        betas=options.adam_betas,
        eps=options.adam_eps,
        **adam_settings(torch.device(device), all(p.is_contiguous() for p in model.parameters())),
    )


@dataclass
class _Run:
    """What one call of ``train`` works with, from set-up to the last epoch."""

    model: StochasticMLP
    options: TrainOptions
    describe: list[str]
    optimiser: torch.optim.Optimizer
    streams: NoiseStreams
    body: _TrainingStep
    n_batches: int
    log: Callable[[str], None]
    checkpoint_path: Path | None

    def checkpoint(self, epoch: int, history: TrainHistory) -> None:
        """Everything a resumed run needs to continue with identical results."""
        if self.checkpoint_path is None:
            return
        state = {
            "epoch": epoch,
            # Generator states are device-specific: a CPU state cannot seed a CUDA
            # generator, nor the other way round.
            "device_type": self.model.mu_w[0].device.type,
            "describe": self.describe,
            "options": asdict(self.options),
            "model": self.model.state_dict(),
            "optimiser": self.optimiser.state_dict(),
            "noise_generators": self.streams.get_state(),
            "step_state": self.body.state(),
            "history": asdict(history),
        }
        save_torch(state, self.checkpoint_path)

    def resume(self) -> tuple[TrainHistory, int]:
        """The history so far and the first epoch to run (0 without a checkpoint)."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            return TrainHistory(), 0
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state["describe"] != self.describe or state["options"] != asdict(self.options):
            raise RuntimeError(
                f"checkpoint {path} belongs to another configuration; delete it to start again"
            )
        here = self.model.mu_w[0].device.type
        saved = state.get("device_type", here)  # checkpoints before it was recorded
        if saved != here:
            raise RuntimeError(
                f"checkpoint {path} was written on {saved}, but this run is on {here}: its "
                "noise-generator states cannot continue on another kind of device. Run on "
                f"{saved} (training.device) to resume, or delete the checkpoint to start again"
            )
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.streams.set_state(state["noise_generators"])
        self.body.load_state(state["step_state"])
        start_epoch = state["epoch"] + 1
        self.log(f"resuming from {path} after epoch {start_epoch}")
        return TrainHistory(**state["history"]), start_epoch

    def run_steps(self, epoch: int, stepper: GraphStepper) -> dict:
        """One epoch of steps, then the one host read of the epoch: its means per network."""
        options, body, k = self.options, self.body, self.model.n_networks
        order = torch.stack(
            [
                epoch_permutation(s, epoch, len(body.labels), options.data_stream)
                for s in self.model.seeds
            ]
        ).to(body.inputs.device)
        body.reset()
        t_steps = time.perf_counter()
        for step in range(self.n_batches):
            body.batch_idx.copy_(
                order[:, step * options.batch_size : (step + 1) * options.batch_size]
            )
            stepper.step()
        finite_steps = body.finite_steps.double()
        mean_loss = (body.loss_sum / finite_steps).tolist()
        if not body.has_accuracy:  # an objective without classes (regression)
            accuracy = [float("nan")] * k
        else:
            accuracy = (body.correct.double() / (finite_steps * options.batch_size)).tolist()
        parts = {name: (v / finite_steps).tolist() for name, v in body.part_sums.items()}
        return {
            "loss": mean_loss,
            "accuracy": accuracy,
            "parts": parts,
            "diverged": body.diverged_step.tolist(),
            "step_seconds": time.perf_counter() - t_steps,
        }

    def record_divergence(self, epoch: int, history: TrainHistory, diverged: list[int]) -> None:
        """Per network, the step and epoch of divergence; raise or log the new ones."""
        history.diverged_step = [s if s >= 0 else None for s in diverged]
        history.diverged_epoch = [
            (s - 1) // self.n_batches + 1 if s >= 0 else None for s in diverged
        ]
        newly = [i for i, e in enumerate(history.diverged_epoch) if e == epoch + 1]
        if newly and self.options.on_non_finite == "raise":
            raise NonFiniteLossError(
                f"non-finite loss or gradient in epoch {epoch + 1} for: "
                f"{'; '.join(self.describe[i] for i in newly)}. "
                "Lower the learning rate or check c, rho and the data."
            )
        for i in newly:
            self.log(
                f"DIVERGED {self.describe[i]}: non-finite loss or gradient at step {diverged[i]} "
                f"(epoch {epoch + 1}); its parameters are frozen at their last finite values, "
                f"the other {self.model.n_networks - 1} network(s) of the group train on"
            )

    def log_epoch(self, epoch: int, result: dict, seconds: float, elapsed: float, eta: float):
        options = self.options
        if (epoch + 1) % options.log_every != 0 and epoch + 1 != options.epochs:
            return
        diverged = result["diverged"]
        for i in range(self.model.n_networks):
            status = (
                f"diverged at step {diverged[i]}"
                if diverged[i] >= 0
                else f"loss {result['loss'][i]:.4f} | train acc {result['accuracy'][i]:.4f}"
            )
            self.log(
                f"epoch {epoch + 1}/{options.epochs} | {self.describe[i]} | {status} | "
                f"epoch {seconds:.1f}s | elapsed {_format_eta(elapsed)} | "
                f"ETA {_format_eta(eta)}"
            )


def _after_epoch(after_epoch, epoch: int, model, history: TrainHistory) -> StopTraining | None:
    """Run ``after_epoch`` and keep its values; the StopTraining it raised, if any."""
    try:
        history.epoch_metrics.append(after_epoch(epoch + 1, model) if after_epoch else {})
    except StopTraining as signal:
        history.epoch_metrics.append(signal.values)
        history.stopped = f"after epoch {epoch + 1}: {signal}"
        return signal
    return None


def _set_up(model, objective, data, options, describe, checkpoint_path, log, after_backward):
    """The run's optimiser, noise streams and step body (on-device data and bookkeeping)."""
    device = model.mu_w[0].device
    describe = describe or [f"network {i}" for i in range(model.n_networks)]
    n_batches = len(data) // options.batch_size
    if n_batches == 0:
        raise ValueError(f"training set of {len(data)} examples is smaller than one batch")
    streams = NoiseStreams(model, options, device)
    inputs, labels = data.inputs.to(device), data.labels.to(device)
    reg = fused_regulariser(model, objective, options, after_backward)
    if reg is not None:
        settings = AdamSettings(
            options.learning_rate,
            options.sigma_learning_rate or options.learning_rate,
            tuple(options.adam_betas),
            options.adam_eps,
        )
        step = FusedStep(model, objective, reg, settings, backend=options.fused_backend)
        body = _FusedTrainingStep(step, inputs, labels, options, streams)
        optimiser = body.optimiser
    else:
        optimiser = _make_optimiser(model, options, device)
        body = _TrainingStep(
            model, objective, optimiser, inputs, labels, options, streams, after_backward
        )
    checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
    return _Run(model, options, describe, optimiser, streams, body, n_batches, log, checkpoint_path)


def _train(
    model,
    objective,
    data,
    options,
    describe,
    checkpoint_path,
    log,
    after_backward,
    after_epoch,
    graph_backend,
    epoch_done=None,
) -> TrainHistory:
    device = model.mu_w[0].device
    if device.type == "cpu":
        keep_freed_cpu_memory()
    reason = _eager_reason(options, device, after_backward)
    if graph_backend is None and not reason:
        graph_backend = CudaGraphBackend(device)
    run = _set_up(model, objective, data, options, describe, checkpoint_path, log, after_backward)
    history, start_epoch = run.resume()
    stepper = GraphStepper(run.body, run.streams, graph_backend, log=log, reason=reason)
    started = time.perf_counter()
    for epoch in range(start_epoch, options.epochs):
        t0 = time.perf_counter()
        result = run.run_steps(epoch, stepper)
        run.record_divergence(epoch, history, result["diverged"])
        seconds = time.perf_counter() - t0
        history.epoch.append(epoch + 1)
        history.loss.append(result["loss"])
        history.train_accuracy.append(result["accuracy"])
        history.parts.append(result["parts"])
        history.seconds.append(seconds)
        history.step_seconds.append(result["step_seconds"])
        stop = _after_epoch(after_epoch, epoch, model, history)
        history.step_path, history.step_path_reason = stepper.path, stepper.reason
        elapsed = time.perf_counter() - started
        eta = elapsed / (epoch + 1 - start_epoch) * (options.epochs - epoch - 1)
        run.log_epoch(epoch, result, seconds, elapsed, eta)
        run.checkpoint(epoch, history)
        if epoch_done is not None:
            epoch_done(history)
        if stop is not None:
            log(f"training stopped {history.stopped}")
            break
    if not history.step_path:  # resumed after the last epoch: nothing ran
        history.step_path, history.step_path_reason = stepper.path, stepper.reason
    log(
        f"training steps ran as: {history.step_path}"
        + (f" ({history.step_path_reason})" if history.step_path_reason else "")
    )
    return history


@torch.no_grad()
def evaluate(
    model: StochasticMLP,
    data: Dataset,
    sample: bool,
    batch_size: int,
    generator=None,
    unit_activity: bool = False,
) -> dict:
    """Accuracy and mean cross-entropy per network on ``data``.

    With ``sample=True`` every batch uses a fresh draw of all weights (as in
    training) from ``generator``: the streams of ``noise_generators`` or one generator
    for the group, as ``StochasticMLP.sample_weights`` takes it; with ``sample=False``
    the weights are the means μ. ``unit_activity``: also ``active_counts``, per hidden
    layer a (K, units) tensor counting the examples at which each unit was active (its
    output passes a gradient: positive before a ReLU; every example for a unit without
    one), from the same forward passes (``drift``).
    """
    device = model.mu_w[0].device
    k = model.n_networks
    correct = torch.zeros(k, dtype=torch.long, device=device)
    ce = torch.zeros(k, dtype=torch.float64, device=device)
    hidden = model.n_layers - 1
    active = [None] * hidden
    inputs, labels = data.inputs.to(device), data.labels.to(device)
    sigmas = model.sigmas() if sample else None
    for start in range(0, len(data), batch_size):
        x = inputs[start : start + batch_size]
        y = labels[start : start + batch_size]
        weights = model.sample_weights(generator, sigmas=sigmas) if sample else None
        pre = [] if unit_activity else None
        logits = model(x, weights, record_preactivation=pre)
        correct += (logits.argmax(-1) == y).sum(1)
        ce += torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), y.unsqueeze(0).expand(k, -1), reduction="none"
        ).sum(1)
        if unit_activity:
            for layer in range(hidden):
                if model.relu_after(layer, model.n_layers):
                    counts = (pre[layer] > 0).sum(1)
                else:
                    counts = torch.full_like(pre[layer][:, 0], x.shape[-2], dtype=torch.long)
                active[layer] = counts if active[layer] is None else active[layer] + counts
    out = {
        "accuracy": (correct.double() / len(data)).tolist(),
        "cross_entropy": (ce / len(data)).tolist(),
    }
    if unit_activity:
        out["active_counts"] = [a.cpu() for a in active]
        out["n_examples"] = len(data)
    return out


def noise_generators(model: StochasticMLP, noise_streams: str, stream: int, device=None):
    """Generators for sampling outside training (e.g. test accuracy with sampled weights).

    "per_network": one generator per network seeded from its own seed and ``stream``
    (so a network's sampled test accuracy does not depend on its group either);
    "shared": one generator seeded with ``stream``.
    """
    device = model.mu_w[0].device if device is None else device
    if noise_streams == "per_network":
        return network_noise_generators(model.seeds, device, stream)
    if noise_streams == "shared":
        return torch.Generator(device=device).manual_seed(int(stream))
    raise ValueError(f"noise_streams must be one of {NOISE_STREAMS}, got {noise_streams!r}")


def _json_number(value):
    """NaN and infinities as None: strict JSON has no such numbers."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def history_to_json(history: TrainHistory, index: int) -> dict:
    """The history of network ``index`` of a group, as plain JSON values."""
    return {
        "epoch": history.epoch,
        "loss": [_json_number(v[index]) for v in history.loss],
        "train_accuracy": [_json_number(v[index]) for v in history.train_accuracy],
        "parts": [{k: _json_number(v[index]) for k, v in p.items()} for p in history.parts],
        "seconds": history.seconds,
        "epoch_metrics": [
            {k: _json_number(v[index]) for k, v in m.items()} for m in history.epoch_metrics
        ],
        "diverged_step": history.diverged_step[index] if history.diverged_step else None,
        "diverged_epoch": history.diverged_epoch[index] if history.diverged_epoch else None,
        "step_path": history.step_path,
        "step_path_reason": history.step_path_reason,
    }
