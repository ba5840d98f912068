"""Per-epoch histories of trained networks and the table of a paper-settings slice.

Every training job records RMS σ every epoch and the sampled test accuracy every
``training.history_test_every`` epochs (metrics.json, ``history.epoch_metrics``). From
that history this module says when each network stopped changing and whether it had
reached an equilibrium by the end of training, and tabulates, per network, what the
table of docs/paper-settings.md shows.

Convergence rule (fixed before looking at the slice results): a series has converged
at the first recorded epoch e from which every later recorded value stays within a
tolerance of the final value: RMS σ within a factor 1 ± ``sigma_rel_tol`` (compared on a
log scale, σ spans decades), sampled test accuracy within ``accuracy_tol`` (absolute).
A network's epochs to convergence is the later of its two series'. It is at
equilibrium if that epoch leaves at least ``window`` epochs (default: a fifth of
training, at least 5) of unchanged values before the end; otherwise it is in transit.

Usage, on finished runs (each a workflow directory holding results/train/...):

    python -m efficient_synapses.reproduction.histories \
        /tmp/paper-slice-methods /tmp/paper-slice-released
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ..artefacts import read_metrics, write_metrics
from ..training.chance_bound import cost_at_end, network_cost_summary, trivial_cost_lower_bound

SIGMA_REL_TOL = 0.10
ACCURACY_TOL = 0.02


def convergence_epoch(
    epochs: Sequence[int], values: Sequence[float], tolerance: float, log_scale: bool = False
) -> int | None:
    """First recorded epoch from which every later value stays within ``tolerance`` of the
    final one (on log values, with tolerance ln(1 + tolerance), if ``log_scale``). None if
    nothing is recorded or the final value is not finite."""
    pairs = [(e, v) for e, v in zip(epochs, values, strict=True) if v is not None]
    if not pairs or not math.isfinite(pairs[-1][1]):
        return None
    if log_scale:
        if any(v <= 0 for _, v in pairs):
            raise ValueError("log-scale convergence needs positive values")
        pairs = [(e, math.log(v)) for e, v in pairs]
        tolerance = math.log1p(tolerance)
    final = pairs[-1][1]
    converged = pairs[-1][0]
    for epoch, value in reversed(pairs):
        if not (math.isfinite(value) and abs(value - final) <= tolerance):
            break
        converged = epoch
    return converged


def equilibrium_window(n_epochs: int) -> int:
    """Epochs of unchanged values a network needs before the end to count as settled."""
    return max(5, n_epochs // 5)


HISTORY_CORE = ("sigma_rms", "test_accuracy_sampled", "test_accuracy_mean_weights")


def history_series(metrics: dict) -> pd.DataFrame:
    """One row per epoch: epoch, loss, train accuracy, RMS σ, sampled and mean-weight test
    accuracy, and every other per-epoch value recorded (the drift measurements), empty
    where not recorded."""
    history = metrics["history"]
    rows = []
    for epoch, loss, train_acc, extra in zip(
        history["epoch"],
        history["loss"],
        history["train_accuracy"],
        history.get("epoch_metrics") or [{}] * len(history["epoch"]),
        strict=True,
    ):
        rows.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "train_accuracy": train_acc,
                "sigma_rms": extra.get("sigma_rms"),
                "test_accuracy_sampled": extra.get("test_accuracy_sampled"),
                "test_accuracy_mean_weights": extra.get("test_accuracy_mean_weights"),
                # the drift measurements (efficient_synapses.training.drift), where recorded
                **{k: v for k, v in extra.items() if k not in HISTORY_CORE},
            }
        )
    return pd.DataFrame(rows)


IDENTITY = ["variant", "noise", "rho", "rho_value", "c", "seed"]


def _identity(metrics: dict) -> dict:
    return {
        "variant": metrics.get("variant", "methods"),
        **{key: metrics[key] for key in IDENTITY[1:]},
    }


def history_table(metrics_files: Iterable[str | Path]) -> pd.DataFrame:
    """The per-epoch history of every network, long format (identity columns + epoch)."""
    frames = []
    for path in metrics_files:
        metrics = read_metrics(path)
        series = history_series(metrics)
        for key, value in _identity(metrics).items():
            series[key] = value
        frames.append(series)
    if not frames:
        raise ValueError("no training metrics to tabulate")
    table = pd.concat(frames, ignore_index=True)
    return table[[*IDENTITY, *[c for c in table.columns if c not in IDENTITY]]]


def network_row(
    metrics: dict, sigma_rel_tol: float = SIGMA_REL_TOL, accuracy_tol: float = ACCURACY_TOL
) -> dict:
    """One network of the slice: accuracy, σ, convergence, equilibrium, cost, wall time."""
    series = history_series(metrics)
    n_epochs = int(series["epoch"].iloc[-1])
    sigma_epoch = None
    if series["sigma_rms"].notna().any():
        sigma_epoch = convergence_epoch(
            series["epoch"].tolist(),
            [None if pd.isna(v) else float(v) for v in series["sigma_rms"]],
            sigma_rel_tol,
            log_scale=True,
        )
    recorded = series[series["test_accuracy_sampled"].notna()]
    accuracy_epoch = convergence_epoch(
        recorded["epoch"].tolist(), recorded["test_accuracy_sampled"].tolist(), accuracy_tol
    )
    known = [e for e in (sigma_epoch, accuracy_epoch) if e is not None]
    converged = max(known) if known else None
    window = equilibrium_window(n_epochs)
    if metrics.get("diverged"):
        state = f"diverged (epoch {metrics.get('diverged_epoch')})"
    elif converged is None:
        state = "unknown (no history)"
    else:
        state = "equilibrium" if converged <= n_epochs - window else "in transit"
    cost = cost_at_end(metrics)
    return {
        **_identity(metrics),
        "test_accuracy_sampled": metrics.get("test_accuracy_sampled"),
        "test_accuracy_mean_weights": metrics.get("test_accuracy_mean_weights"),
        "sigma_rms": metrics.get("sigma_rms"),
        "epochs": n_epochs,
        "sigma_converged_epoch": sigma_epoch,
        "accuracy_converged_epoch": accuracy_epoch,
        "epochs_to_convergence": converged,
        "state": state,
        "wall_seconds": metrics.get("wall_seconds"),
        "overall_cost": cost.get("overall_cost"),
        "chance_bound": cost.get("chance_bound"),
        "c_beats_trivial_below": cost.get("c_beats_trivial_below"),
        "above_chance_bound": cost.get("above_chance_bound"),
    }


def with_cost_at_end(metrics: dict, trivial: float) -> dict:
    """``metrics`` with ``cost_at_end`` computed from its last epoch's history, for a
    metrics.json written before jobs recorded it (same formula as jobs.run_training)."""
    if metrics.get("cost_at_end") or not metrics["history"].get("parts"):
        return metrics
    summary = network_cost_summary(
        metrics["history"]["parts"][-1],
        metrics["n_train"],
        metrics["hyperparameters"]["batch_size"],
        float(metrics["c"]),
        trivial,
    )
    return {**metrics, "cost_at_end": summary}


def slice_table(
    metrics_files: Iterable[str | Path], trivial: float | None = None, **tolerances
) -> pd.DataFrame:
    """One row per network (see :func:`network_row`), ordered by variant, ρ, c, noise.

    ``trivial``: N H(y) of the training labels, used only for metrics.json files without
    ``cost_at_end``."""
    rows = []
    for path in metrics_files:
        metrics = read_metrics(path)
        if trivial is not None:
            metrics = with_cost_at_end(metrics, trivial)
        rows.append(network_row(metrics, **tolerances))
    if not rows:
        raise ValueError("no training metrics to tabulate")
    table = pd.DataFrame(rows)
    return table.sort_values(["variant", "rho_value", "c", "noise"]).reset_index(drop=True)


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if spec == "d":
        value = int(value)
    return format(value, spec)


def markdown_table(table: pd.DataFrame) -> str:
    """The README table: per network, accuracy, σ, convergence, state, cost, wall time."""
    header = (
        "| variant | ρ | c | noise | sampled test acc | mean-weight test acc | RMS σ | "
        "epochs to convergence | state at the end | C − N H(y) | c below which no trivial "
        "network is cheaper | wall time (group) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for row in table.itertuples(index=False):
        gap = None
        if row.overall_cost is not None and row.chance_bound is not None:
            gap = row.overall_cost - row.chance_bound
        wall = None if row.wall_seconds is None else row.wall_seconds / 60
        lines.append(
            f"| {row.variant} | {row.rho} | {row.c:.3g} | {row.noise} | "
            f"{_fmt(row.test_accuracy_sampled, '.3f')} | "
            f"{_fmt(row.test_accuracy_mean_weights, '.3f')} | {_fmt(row.sigma_rms, '.3g')} | "
            f"{_fmt(row.epochs_to_convergence, 'd')} | {row.state} | {_fmt(gap, '.4g')} | "
            f"{_fmt(row.c_beats_trivial_below, '.3g')} | {_fmt(wall, '.1f')} min |"
        )
    return "\n".join(lines)


def _run_trivial_cost(run: Path, metrics_file: Path) -> float | None:
    """N H(y) of the training labels a run used (its own verified MNIST copy)."""
    from ..data.raw import load_mnist

    raw = run / "results" / "data" / "mnist" / "MNIST" / "raw"
    if not raw.is_dir():
        return None
    n_train = read_metrics(metrics_file)["n_train"]
    labels = load_mnist(raw, train=True).labels[:n_train]
    return trivial_cost_lower_bound(labels)


def backfill_cost_at_end(metrics_files: Iterable[Path], trivial: float) -> int:
    """Write ``cost_at_end`` into metrics.json files of runs made before jobs recorded it
    (computed from their own history, :func:`with_cost_at_end`); returns how many."""
    written = 0
    for path in metrics_files:
        metrics = read_metrics(path)
        if not metrics.get("cost_at_end"):
            write_metrics(with_cost_at_end(metrics, trivial), path)
            written += 1
    return written


def draw_run_figures(metrics_files: Sequence[Path], out_dir: Path) -> None:
    """Figures 2, 3 and the per-epoch history of one run, straight from its metrics.json."""
    from ..figures.tradeoff import plot_fig2, plot_fig3, plot_training_history
    from ..training.tables import training_table

    out_dir.mkdir(parents=True, exist_ok=True)
    table = training_table(metrics_files)
    plot_fig2(table, out_dir / "fig2.pdf", out_dir / "fig2.png")
    plot_fig3(table, out_dir / "fig3.pdf", out_dir / "fig3.png")
    history = history_table(metrics_files)
    plot_training_history(
        history, out_dir / "training_history.pdf", out_dir / "training_history.png"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="workflow directories of slice runs")
    parser.add_argument("--csv", type=Path, help="also write the table as CSV here")
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="write cost_at_end into metrics.json files that lack it (runs made before it was "
        "recorded), so that training.csv and Figure 2 carry it",
    )
    parser.add_argument(
        "--figures", type=Path, help="draw fig2, fig3 and training_history of each run here"
    )
    args = parser.parse_args(argv)
    tables = []
    for run in args.runs:
        found = sorted((run / "results" / "train").rglob("metrics.json"))
        if not found:
            raise SystemExit(f"{run}: no results/train/**/metrics.json (has the run finished?)")
        trivial = _run_trivial_cost(run, found[0])
        if args.backfill:
            if trivial is None:
                raise SystemExit(f"{run}: no results/data/mnist/MNIST/raw to compute N H(y)")
            print(f"{run}: cost_at_end written into {backfill_cost_at_end(found, trivial)} files")
        if args.figures:
            draw_run_figures(found, args.figures / run.name)
        tables.append(slice_table(found, trivial=trivial))
    table = pd.concat(tables, ignore_index=True)
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(markdown_table(table))


if __name__ == "__main__":
    main()
