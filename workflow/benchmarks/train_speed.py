"""Benchmark: training speed of the paper's pattern against our engine, on one device.

    python workflow/benchmarks/train_speed.py --device auto --out results/benchmarks/train_speed.csv

Prints, and writes as CSV, ms per step, ms per network-step, s per epoch, projected
minutes for 50 epochs and the speed-up per network over the paper's pattern measured
in the same run, for: the paper's pattern, ours eager K=1 and, on CUDA, ours replayed
from a CUDA graph for K=1 and each group size, plus rows with one shared noise stream
(the cost of per-network streams). Steady-state steps only (warm-up and capture are
untimed); the path each row ran is checked against its label. ``--mnist`` is a
directory of the four MNIST idx files or of their .gz files. Needs only PyTorch (and
torchvision for the paper's DataLoader, which is emulated without it); never a test.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the efficient_synapses package

from efficient_synapses.training.engine import resolve_device  # noqa: E402
from efficient_synapses.training.fused import set_threads  # noqa: E402
from efficient_synapses.training.speed import device_name, prepare_mnist, run_benchmark  # noqa: E402

COLUMNS = ["device", "date", "torch"]


def print_table(rows: list[dict]) -> None:
    shown = [
        "path",
        "networks",
        "distinct_seeds",
        "steps_timed",
        "ms_per_step",
        "ms_per_network_step",
        "minutes_for_50_epochs",
        "speedup_per_network_vs_paper",
        "path_ran",
    ]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in shown}
    print("  ".join(c.ljust(widths[c]) for c in shown))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in shown))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default="results/data/mnist/MNIST/raw")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="CSV file for the table")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--paper-steps", type=int, default=200)
    parser.add_argument("--single-steps", type=int, default=500)
    parser.add_argument(
        "--group-steps",
        type=int,
        default=None,
        help="steps per timed epoch of a group (default: 200 on CUDA, 50 on CPU)",
    )
    parser.add_argument(
        "--groups",
        type=int,
        nargs="*",
        default=None,
        help="group sizes (default: 60 240 on CUDA, 30 240 on CPU)",
    )
    parser.add_argument(
        "--no-shared-rows",
        action="store_true",
        help="leave out the rows with one shared noise stream",
    )
    parser.add_argument(
        "--no-plain-rows",
        action="store_true",
        help="leave out the rows of the same groups written as plain PyTorch",
    )
    return parser.parse_args(argv)


class RowWriter:
    """The table's CSV, each row appended as soon as it is measured (a run cut short by a
    time limit or a failure keeps every finished row), and the plan beside it (OUT with
    suffix .plan: the rows the run set out to measure)."""

    def __init__(self, out: Path | None, stamp: dict):
        self.out, self.stamp, self.written = out, stamp, []

    def append(self, row: dict) -> None:
        row = {**self.stamp, **row}
        self.written.append(row)
        if self.out is None:
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        new_file = len(self.written) == 1
        with open(self.out, "w" if new_file else "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)

    def write_plan(self, names: list[str]) -> None:
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.out.with_suffix(".plan").write_text("\n".join(names) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        set_threads(args.threads)
    device = resolve_device(args.device)
    on_cuda = device.type == "cuda"
    groups = args.groups if args.groups is not None else ([60, 240] if on_cuda else [30, 240])
    group_steps = args.group_steps or (200 if on_cuda else 50)
    steps = {"paper": args.paper_steps, "single": args.single_steps, "group": group_steps}
    stamp = {
        "device": device_name(device),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
    }
    rows = RowWriter(Path(args.out).resolve() if args.out else None, stamp)
    with tempfile.TemporaryDirectory() as tmp:
        raw = prepare_mnist(args.mnist, tmp)
        run_benchmark(
            raw,
            device,
            steps,
            groups=groups,
            shared_rows=not args.no_shared_rows,
            plain_rows=not args.no_plain_rows,
            on_row=rows.append,
            on_plan=rows.write_plan,
        )
    print_table(rows.written)
    print(f"device: {stamp['device']}; torch {torch.__version__}")
    mislabelled = [r["path"] for r in rows.written if not r["path_as_labelled"]]
    for name in mislabelled:
        print(f"WARNING: row {name!r} did not run the path its label says")
    return 1 if mislabelled else 0


if __name__ == "__main__":
    sys.exit(main())
