"""The whole workflow, end to end, on the tiny preset (profiles/tiny) in a temporary copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.integration

COPIED = ["Snakefile", "config.yaml", "workflow", "profiles", "envs"]


def workflow_copy(project_root: Path, mirror: Path, target: Path) -> Path:
    for name in COPIED:
        src = project_root / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, target / name)
    config = yaml.safe_load((target / "config.yaml").read_text())
    config["data"]["mirror"] = str(mirror)
    (target / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


@pytest.fixture(scope="module")
def tiny_run(project_root, mirror, tmp_path_factory):
    workdir = workflow_copy(project_root, mirror, tmp_path_factory.mktemp("tiny"))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/tiny"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return workdir


def test_training_table_is_complete_and_finite(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "tables" / "training.csv")
    assert len(table) == 2 * 2 * 2 * 1  # rho x c x noise x seed of profiles/tiny
    numeric = table.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy()).all()
    assert set(table["noise"]) == {"heterogeneous", "homogeneous"}
    assert table["test_accuracy_sampled"].between(0, 1).all()


def test_every_job_wrote_metrics_and_a_progress_log(tiny_run):
    metrics = sorted((tiny_run / "results" / "train").rglob("metrics.json"))
    assert len(metrics) == 8
    m = json.loads(metrics[0].read_text())
    for key in (
        "test_accuracy_sampled",
        "test_accuracy_mean_weights",
        "sigma_rms",
        "reliability_cost_s1",
        "final_train_loss",
        "wall_seconds",
        "versions",
        "hyperparameters",
        "seed",
    ):
        assert key in m
    assert not list((tiny_run / "results" / "train").rglob("checkpoint.pt"))
    # profiles/tiny trains the sweep in groups of 4: one log per group, lines per network.
    logs = sorted((tiny_run / "results" / "logs" / "train_group").glob("*.log"))
    assert len(logs) == 2
    text = logs[0].read_text()
    assert "4 network(s)" in text
    assert text.count("epoch 1/1") == 4 and "ETA" in text and "train acc" in text


@pytest.mark.parametrize("name", ["fig2", "fig3"])
def test_figures_exist(tiny_run, name):
    for ext in ("pdf", "png"):
        path = tiny_run / "figures" / f"{name}.{ext}"
        assert path.is_file() and path.stat().st_size > 5000, path
