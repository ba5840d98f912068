#!/usr/bin/env bash
# The one prepared GPU check of the training engine, in about 5 minutes (two tries fit a
# 15-minute GPU budget with the machine's start).
#
#   bash workflow/benchmarks/gpu_check.sh MNIST_DIR OUT_DIR [--smoke]
#
# MNIST_DIR: the four raw MNIST files, as .gz (the mirror layout of ../shared/data/mnist)
# or decompressed idx files; on a lent GPU machine a git-ignored folder that travels with
# the checkout (docs/speed.md gives the exact call). OUT_DIR: where every file goes (on a
# lent machine, under the $OUT it returns). Needs Python >= 3.11 and PyTorch >= 2.4 with
# CUDA; no Snakemake, no numpy, no internet, no pip install (PYTHONPATH is set here).
# Writes under OUT_DIR (logs unbuffered, CSVs appended as they are measured, so a part cut
# by its time limit keeps what it finished, and the summary names what was cut):
#   env.txt        machine, GPU, Python and PyTorch versions
#   tests.log      the CUDA tests (tests/test_engine_cuda.py), tracebacks short and printed
#                  as they fail (-rfEs), in their own call and time limit
#   benchmark.csv  train_speed.py: paper pattern, eager K=1, graph K=1/60/240, shared-stream
#                  and plain-PyTorch rows, each appended as soon as it is measured
#   benchmark.plan the rows it set out to measure (the summary names those a cut run missed)
#   benchmark.log  its output
#   sweep.csv      paper_sweep.py: the Fig. 2/3 sweep of seed 0 at paper settings, one
#                  group, as many networks as fit its bounded time (per network and epoch,
#                  appended after every epoch)
#   sweep.log      its output
#   summary.md     the numbers against the targets, the test counts, the sweep in brief
# Time limits (seconds, each overridable): GPU_CHECK_TESTS_SECONDS 75,
# GPU_CHECK_BENCH_SECONDS 150, GPU_CHECK_SWEEP_SECONDS 60, GPU_CHECK_SECONDS 330 in all.
# --smoke: a short try (few steps, 2 epochs of the sweep). Without CUDA, the CUDA tests
# skip and, with --smoke, the benchmark and a tiny sweep run on the CPU.
set -uo pipefail

if [[ $# -lt 2 || $# -gt 3 || ( $# -eq 3 && "$3" != "--smoke" ) ]]; then
    echo "usage: bash $0 MNIST_DIR OUT_DIR [--smoke]" >&2
    exit 64
fi
SMOKE=0
[[ $# -eq 3 ]] && SMOKE=1
# Both paths absolute before the cd below, so relative ones work from any directory.
if [[ ! -d "$1" ]]; then
    echo "gpu_check: MNIST_DIR $1 is not a directory" >&2
    exit 66
fi
MNIST_DIR=$(cd "$1" && pwd)
mkdir -p "$2" || exit 73
OUT=$(cd "$2" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOTAL_S=${GPU_CHECK_SECONDS:-330}          # the whole check, tests to summary
TESTS_S=${GPU_CHECK_TESTS_SECONDS:-75}     # the CUDA tests' own time limit
BENCH_S=${GPU_CHECK_BENCH_SECONDS:-150}    # the benchmark's own time limit
SWEEP_S=${GPU_CHECK_SWEEP_SECONDS:-60}     # the sweep's training budget (at most)
START=$(date +%s)
PY=${PYTHON:-$(command -v python3 || command -v python)}
export PYTHONPATH="$ROOT/workflow${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
# Every line reaches the logs at once: a part killed by its time limit leaves what it printed.
export PYTHONUNBUFFERED=1
cd "$ROOT" || exit 1

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( TOTAL_S - $(elapsed) )); }
say() { echo "[gpu_check $(elapsed)s] $*"; }

for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if [[ ! -f "$MNIST_DIR/$name" && ! -f "$MNIST_DIR/$name.gz" ]]; then
        echo "gpu_check: $MNIST_DIR has neither $name nor $name.gz (see README, Speed)" >&2
        exit 66
    fi
done

# 1. The machine.
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(hostname)"
    echo "smoke: $SMOKE"
    command -v nvidia-smi >/dev/null && nvidia-smi -L
    "$PY" - <<'EOF'
import platform, sys
import torch
print("python", sys.version.split()[0], platform.platform())
print("torch", torch.__version__, "cuda", torch.version.cuda)
print("cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "count", torch.cuda.device_count())
for module in ("pytest", "numpy", "torchvision", "yaml", "pandas"):
    try:
        __import__(module)
        print(module, "present")
    except ImportError:
        print(module, "absent")
EOF
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
if ! "$PY" -c "import sys, torch; v = torch.__version__.split('+')[0].split('.'); sys.exit(0 if (int(v[0]), int(v[1])) >= (2, 4) else 1)"; then
    say "PyTorch older than 2.4: per-network generators cannot be registered with a CUDA graph"
fi
HAVE_CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))")
if [[ $HAVE_CUDA != 1 ]]; then
    say "CUDA is not available: the CUDA tests will skip; the GPU numbers cannot be measured here"
fi

# 2. Tests: the CUDA tests alone (the CPU tests run in CI), in their own call.
say "tests (limit ${TESTS_S}s)"
if [[ $(basename "$MNIST_DIR") == mnist ]]; then   # the mirror layout: tests that need MNIST run
    EFFICIENT_SYNAPSES_MIRROR=$(dirname "$MNIST_DIR")
    export EFFICIENT_SYNAPSES_MIRROR
fi
if [[ ${GPU_CHECK_TESTS:-1} == 0 ]]; then   # tests/test_engine.py runs this script without them
    echo "tests skipped (GPU_CHECK_TESTS=0)" > "$OUT/tests.log"
    (exit 0)
elif "$PY" -c "import pytest" 2>/dev/null; then
    # -rfEs: every failure, error and skip with its reason; --tb=short: tracebacks that a
    # time limit does not lose (printed as each test fails, not only at the end).
    timeout "$TESTS_S" "$PY" -m pytest -q --tb=short -rfEs -p no:cacheprovider \
        tests/test_engine_cuda.py > "$OUT/tests.log" 2>&1
else
    {
        echo "pytest absent: tests/test_engine_cuda.py run as a script"
        timeout "$TESTS_S" "$PY" tests/test_engine_cuda.py
    } > "$OUT/tests.log" 2>&1
fi
TESTS_RC=$?
tail -n 3 "$OUT/tests.log"

# 3. Benchmark, then 4. the sweep with the time left.
BENCH_RC=skipped
SWEEP_RC=skipped
if [[ $HAVE_CUDA != 1 && $SMOKE != 1 ]]; then
    say "no CUDA and no --smoke: benchmark and paper-settings sweep skipped (they are GPU work)"
else
    if [[ -n ${GPU_CHECK_BENCH_ARGS:-} ]]; then   # e.g. a test that cuts the benchmark short
        read -r -a BENCH_ARGS <<< "$GPU_CHECK_BENCH_ARGS"
    elif [[ $SMOKE == 1 ]]; then
        BENCH_ARGS=(--paper-steps 20 --single-steps 40 --group-steps 10)
        [[ $HAVE_CUDA == 1 ]] && BENCH_ARGS+=(--groups 60 240) || BENCH_ARGS+=(--groups 8 --threads 2)
    else
        BENCH_ARGS=(--paper-steps 200 --single-steps 1000 --group-steps 300 --groups 60 240)
    fi
    say "benchmark (limit ${BENCH_S}s)"
    # Each row is appended to benchmark.csv as soon as it is measured.
    timeout "$BENCH_S" "$PY" workflow/benchmarks/train_speed.py --mnist "$MNIST_DIR" \
        --device auto --out "$OUT/benchmark.csv" "${BENCH_ARGS[@]}" > "$OUT/benchmark.log" 2>&1
    BENCH_RC=$?
    tail -n 12 "$OUT/benchmark.log"

    BUDGET=$(( $(left) - 45 ))   # leave time for the final evaluation and the summary
    (( BUDGET > SWEEP_S )) && BUDGET=$SWEEP_S
    if [[ $SMOKE == 1 ]]; then
        if [[ $HAVE_CUDA == 1 ]]; then
            SWEEP_ARGS=(--epochs 2 --test-every 1)
        else
            SWEEP_ARGS=(--epochs 1 --train-subset 400 --n-c 2 --test-every 1)
        fi
    else
        SWEEP_ARGS=()
    fi
    if (( BUDGET < 30 )); then
        say "only $(left) s left: sweep skipped"
    else
        say "sweep, budget ${BUDGET}s"
        timeout $(( BUDGET + 40 )) "$PY" workflow/benchmarks/paper_sweep.py --mnist "$MNIST_DIR" \
            --out "$OUT/sweep.csv" --budget-s "$BUDGET" --benchmark "$OUT/benchmark.csv" \
            "${SWEEP_ARGS[@]}" > "$OUT/sweep.log" 2>&1
        SWEEP_RC=$?
        tail -n 3 "$OUT/sweep.log"
    fi
fi

# 5. Summary.
"$PY" workflow/benchmarks/gpu_check_summary.py "$OUT" --tests-rc "$TESTS_RC" \
    --benchmark-rc "$BENCH_RC" --sweep-rc "$SWEEP_RC" --seconds "$(elapsed)" > "$OUT/summary.md"
cat "$OUT/summary.md"
say "done; files in $OUT"
[[ $TESTS_RC == 0 && ( $BENCH_RC == 0 || $BENCH_RC == skipped ) && \
   ( $SWEEP_RC == 0 || $SWEEP_RC == skipped ) ]]
