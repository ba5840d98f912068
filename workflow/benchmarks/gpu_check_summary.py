"""The summary of gpu_check.sh: benchmark against the issue's targets, tests, the sweep in brief.

    python workflow/benchmarks/gpu_check_summary.py OUT_DIR --tests-rc N --benchmark-rc N \
        --sweep-rc N --seconds S > OUT_DIR/summary.md

Reads OUT_DIR/{env.txt, tests.log, benchmark.csv, benchmark.plan, sweep.csv}; standard
library only. A part cut short (its time limit, exit code 124, or a failure) keeps the rows it
finished; the summary shows them and names what was not measured.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path

# Targets of issue 12, measured on one H100 (README, Speed).
TARGET_K1_SPEEDUP = 15.0  # graph K=1 per network-step vs the paper's pattern
TARGET_K240_MS = 2.5  # graph K=240, ms per step
STREAM_COST_LIMIT = 0.10  # per-network streams may cost at most 10 % of the step


def read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_plan(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]


def why_cut(rc: str) -> str:
    """In words, why a part that exited with ``rc`` stopped."""
    if rc == "124":
        return "cut by its time limit"
    if rc in ("0", "skipped"):
        return ""
    return f"stopped by a failure (exit {rc})"


def missing_rows(rows: list[dict], plan: list[str]) -> list[str]:
    """The planned rows without a measured row (labels may carry a note after them)."""
    return [name for name in plan if not any(r["path"].startswith(name) for r in rows)]


def benchmark_section(rows: list[dict], plan: list[str] | None = None, rc: str = "0") -> list[str]:
    plan = plan or []
    cut = why_cut(rc)
    missing = missing_rows(rows, plan)
    if not rows:
        head = f"No benchmark rows ({cut or 'skipped or failed'}: see benchmark.log)."
        return [head] + ([f"Not measured: {'; '.join(missing)}."] if missing else [])
    first = rows[0]
    out = [
        f"Device: {first['device']}; torch {first['torch']}; {first['date']}.",
        "",
        "| path | networks | distinct seeds | ms/step | ms per network-step "
        "| min for 50 epochs | speed-up per network | ran as |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ran = r["path_ran"] + ("" if r["path_as_labelled"] == "True" else " (NOT as labelled)")
        out.append(
            f"| {r['path']} | {r['networks']} | {r.get('distinct_seeds', '')} "
            f"| {r['ms_per_step']} | {r['ms_per_network_step']} "
            f"| {r['minutes_for_50_epochs']} | {r['speedup_per_network_vs_paper']} | {ran} |"
        )
    out.append("")
    if missing:
        out += [
            f"**Benchmark {cut or 'incomplete'}**: {len(rows)} of {len(plan)} rows measured; "
            f"not measured: {'; '.join(missing)}.",
            "",
        ]

    def find(k: int, streams: str):
        for r in rows:
            if (
                int(r["networks"]) == k
                and r["noise_streams"] == streams
                and r["path_ran"] == "cuda_graph"
            ):
                return r
        return None

    k1, k240 = find(1, "per_network"), find(240, "per_network")
    if k1 is None and k240 is None:
        out.append("Targets: no CUDA-graph rows, so the targets were not measured.")
        return out
    if k1 is not None:
        speedup = float(k1["speedup_per_network_vs_paper"])
        verdict = "met" if speedup >= TARGET_K1_SPEEDUP else "NOT met"
        out.append(
            f"- graph K=1: {speedup:.1f}x per network-step over the paper's pattern "
            f"(target >= {TARGET_K1_SPEEDUP:g}x): {verdict}"
        )
    if k240 is not None:
        ms = float(k240["ms_per_step"])
        verdict = "met" if ms <= TARGET_K240_MS else "NOT met"
        out.append(
            f"- graph K=240: {ms:.3f} ms per step (target <= {TARGET_K240_MS:g} ms): {verdict}"
        )
    for k in (1, 240):
        own, shared = find(k, "per_network"), find(k, "shared")
        if own and shared:
            cost = float(own["ms_per_step"]) / float(shared["ms_per_step"]) - 1
            keep = "above" if cost > STREAM_COST_LIMIT else "within"
            out.append(
                f"- per-network noise streams at K={k}: {cost:+.1%} of the shared-stream step "
                f"({keep} the 10 % limit)"
            )
    return out


def sweep_section(rows: list[dict], rc: str = "0") -> list[str]:
    cut = why_cut(rc)
    if not rows:
        return [f"No sweep rows ({cut or 'skipped or failed'}: see sweep.log)."]
    networks = {(r["noise"], r["rho"], r["log10_c"]) for r in rows}
    last_epoch = max(int(r["epoch"]) for r in rows)
    final = [r for r in rows if int(r["epoch"]) == last_epoch]
    diverged = [r for r in final if r["diverged"] == "True"]
    first = rows[0]
    planned = int(first["epochs_planned"])
    out = []
    if last_epoch < planned and not final[0]["stopped"]:
        out += [
            f"**Sweep {cut or 'incomplete'} after epoch {last_epoch} of {planned}**: the "
            "rows below are those of the epochs it finished.",
            "",
        ]
    out += [
        f"{len(networks)} networks (seed {first['seed']}), {last_epoch} of "
        f"{first['epochs_planned']} epochs, steps ran as {first['step_path']}, "
        f"{final[0]['wall_seconds']} s"
        + (f"; stopped {final[0]['stopped']}" if final[0]["stopped"] else ""),
        f"Diverged: {len(diverged)}"
        + (
            ": " + "; ".join(f"{r['noise']} rho={r['rho']} c=1e{r['log10_c']}" for r in diverged)
            if diverged
            else ""
        ),
        "",
        "Sampled test accuracy at the last epoch, lowest / highest c, and RMS σ:",
        "",
        "| noise | ρ | acc (lowest c) | acc (highest c) | RMS σ (lowest c) | RMS σ (highest c) |",
        "|---|---|---|---|---|---|",
    ]
    by_setting = defaultdict(list)
    for r in final:
        by_setting[(r["noise"], r["rho"])].append(r)
    for (noise, rho), group in sorted(by_setting.items()):
        group.sort(key=lambda r: float(r["log10_c"]))
        lo, hi = group[0], group[-1]
        out.append(
            f"| {noise} | {rho} | {lo['test_accuracy_sampled']} | {hi['test_accuracy_sampled']} "
            f"| {float(lo['sigma_rms']):.3g} | {float(hi['sigma_rms']):.3g} |"
        )
    accuracies = [float(r["test_accuracy_sampled"]) for r in final if r["test_accuracy_sampled"]]
    if accuracies:
        out += [
            "",
            f"Median sampled test accuracy over networks: {statistics.median(accuracies):.4f}",
        ]
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--tests-rc", default="?")
    parser.add_argument("--benchmark-rc", default="?")
    parser.add_argument("--sweep-rc", default="?")
    parser.add_argument("--seconds", default="?")
    args = parser.parse_args(argv)
    env = (args.out / "env.txt").read_text() if (args.out / "env.txt").is_file() else ""
    tests = (
        (args.out / "tests.log").read_text().strip().splitlines()
        if (args.out / "tests.log").is_file()
        else []
    )
    lines = [
        "# GPU check of the training engine",
        "",
        f"Total {args.seconds} s; exit codes: tests {args.tests_rc}, benchmark "
        f"{args.benchmark_rc}, sweep {args.sweep_rc}.",
        "",
        "```",
        env.strip(),
        "```",
        "",
        "## Tests",
        "",
        f"`{tests[-1] if tests else 'no test log'}`",
        "",
        "## Benchmark",
        "",
        *benchmark_section(
            read_csv(args.out / "benchmark.csv"),
            read_plan(args.out / "benchmark.plan"),
            str(args.benchmark_rc),
        ),
        "",
        "## Paper-settings sweep (Fig. 2/3, one seed)",
        "",
        *sweep_section(read_csv(args.out / "sweep.csv"), str(args.sweep_rc)),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
