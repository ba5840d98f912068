"""Benchmark: training speed of the paper's pattern against our engine, on one device.

    python workflow/benchmarks/train_speed.py --device auto --out results/benchmarks/train_speed.csv

Prints ms/step, s/epoch, projected minutes for 50 epochs and the speed-up per
network against the paper's pattern, and writes the table as CSV. Run it on a
GPU machine for the GPU table; it is never part of the tests.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the efficient_synapses package

from efficient_synapses.benchmark import device_name, run_benchmark  # noqa: E402
from efficient_synapses.jobs import resolve_device  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default="results/data/mnist/MNIST/raw")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="CSV file for the table")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--paper-steps", type=int, default=200)
    parser.add_argument("--single-steps", type=int, default=500)
    parser.add_argument("--group-steps", type=int, default=50)
    parser.add_argument("--groups", type=int, nargs="*", default=[30, 240])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    steps = {"paper": args.paper_steps, "single": args.single_steps, "group": args.group_steps}
    rows = run_benchmark(args.mnist, device, steps, groups=args.groups)

    import pandas as pd

    table = pd.DataFrame(rows)
    table.insert(0, "device", device_name(device))
    table.insert(1, "date", datetime.date.today().isoformat())
    table.insert(2, "torch", torch.__version__)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns=["device", "date", "torch"]).to_string(index=False))
    print(f"device: {device_name(device)}; torch {torch.__version__}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
