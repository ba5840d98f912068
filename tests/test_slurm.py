"""profiles/slurm against a real (one-node, local) SLURM cluster.

A session fixture installs slurm-wlm and munge with apt-get if needed, starts munged,
slurmctld and slurmd (tests/slurm_cluster.py), and runs the tiny preset through a
profile generated from profiles/slurm/config.yaml with only the site settings
(partitions, account, job-status query) replaced. The tests then check the outputs and
that every job really ran as a SLURM job, with the resources the profile asks for.
Needs root; skipped otherwise (pytest -m "not slurm" deselects it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from slurm_cluster import (
    CPU_PARTITION,
    GPU_PARTITION,
    ClusterUnavailable,
    LocalSlurmCluster,
    ensure_installed,
)
from test_workflow import workflow_copy

pytestmark = [pytest.mark.slurm, pytest.mark.integration]

# First status query this many seconds after a submission (then every +10 s, reset when a
# job finishes). The cluster's MinJobAge must be >= 3 x this, or the plugin uses sacct.
STATUS_INIT_SECONDS = 1
SNAKEMAKE_TIMEOUT = 600  # seconds; snakemake is killed (timeout -k) after this
TINY_NETWORKS = 2 * 2 * 2 * 1  # rho x c x noise x seed of profiles/tiny
# The Figure 2/3 path (download, train, tabulate, draw): every kind of job the profile
# configures, without the rest of the tiny preset, which tests/test_workflow.py runs.
TARGETS = ["figures/fig2.pdf", "figures/fig3.pdf"]
NETWORKS_PER_GROUP = 4  # the test's group-components: 2 training jobs of 4 networks


def slurm_test_profile(project_root: Path, workdir: Path) -> Path:
    """profiles/slurm with the site settings pointed at the local test cluster."""
    profile = yaml.safe_load((project_root / "profiles" / "slurm" / "config.yaml").read_text())
    tiny = yaml.safe_load((project_root / "profiles" / "tiny" / "config.yaml").read_text())

    # The tiny preset's configuration; one job per network (not the in-process groups
    # of training.group_size), so that train_network is the rule that runs.
    training = yaml.safe_load((workdir / "config.yaml").read_text())["training"]
    extra = workdir / "slurm-test-overrides.yaml"
    extra.write_text(
        yaml.safe_dump({"training": {"group_size": 1}} if "group_size" in training else {})
    )
    profile["configfile"] = [*tiny["configfile"], str(extra)]

    # Site settings: partitions of the test cluster, no accounts, no accounting daemon.
    profile["default-resources"]["slurm_partition"] = CPU_PARTITION
    for resources in profile["set-resources"].values():
        if "slurm_partition" in resources:
            resources["slurm_partition"] = GPU_PARTITION if "gpu" in resources else CPU_PARTITION
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        resources.pop("slurm_account", None)
    profile["slurm-no-account"] = True
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = STATUS_INIT_SECONDS
    # Fail fast: no resubmission, no waiting for a shared file system.
    profile["retries"] = 0
    profile["latency-wait"] = 5
    directory = workdir / "slurm-test-profile"
    directory.mkdir()
    (directory / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    try:
        ensure_installed()
    except ClusterUnavailable as reason:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"CI must run the SLURM test: {reason}")
        pytest.skip(str(reason))
    # Two stand-in GPUs and four (declared) CPUs: both training groups run at once.
    cluster = LocalSlurmCluster(tmp_path_factory.mktemp("slurm"), gpus=2, min_cpus=4)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def slurm_run(slurm_cluster, project_root, mirror, tmp_path_factory):
    workdir = workflow_copy(project_root, mirror, tmp_path_factory.mktemp("tiny-slurm"))
    profile = slurm_test_profile(project_root, workdir)
    started = time.monotonic()
    result = subprocess.run(
        # timeout -k: snakemake can ignore SIGTERM while it waits for job states.
        ["timeout", "-k", "10", str(SNAKEMAKE_TIMEOUT)]
        + [sys.executable, "-m", "snakemake", *TARGETS, "--profile", str(profile)]
        # The grouping overlay, as it is; two groups of 4 rather than one of 10, so that
        # the split is tested too (both run at once on the node's two stand-in GPUs).
        + ["--profile", "profiles/slurm-grouped"]
        + ["--group-components", f"train={NETWORKS_PER_GROUP}"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"snakemake exited with {result.returncode}\n{output[-6000:]}\n{slurm_cluster.logs()}"
    )
    return workdir, output, time.monotonic() - started


def submitted_jobs(output: str) -> dict[str, str]:
    """SLURM job id -> SLURM log file, from the plugin's 'submitted' messages."""
    return dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)", output))


def test_outputs_exist(slurm_run):
    workdir, _, _ = slurm_run
    metrics = list((workdir / "results" / "train").rglob("metrics.json"))
    assert len(metrics) == TINY_NETWORKS
    assert (workdir / "results" / "tables" / "training.csv").is_file()
    for name in ("fig2", "fig3"):
        for ext in ("pdf", "png"):
            assert (workdir / "figures" / f"{name}.{ext}").stat().st_size > 5000


def test_every_job_ran_as_a_slurm_job(slurm_run):
    workdir, output, _ = slurm_run
    jobs = submitted_jobs(output)
    slurm_logs = workdir / ".snakemake" / "slurm_logs"
    # The plugin's log of every SLURM job, named by its job id, kept by the profile.
    for job_id, log in jobs.items():
        assert Path(log).name == f"{job_id}.log" and Path(log).is_file(), log
    kept = {p.stem for p in slurm_logs.rglob("*.log")}
    assert kept == set(jobs)
    # One SLURM job per job of the DAG, except train_network's, which are grouped.
    ran = re.findall(r"^\s*(?:local)?rule (\w+):$", output, flags=re.MULTILINE)
    ran = [rule for rule in ran if rule != "all"]  # the target rule runs no code
    assert ran.count("train_network") == TINY_NETWORKS
    dirs = [Path(log).relative_to(slurm_logs).parts[0] for log in jobs.values()]
    assert sorted(d for d in dirs if d.startswith("rule_")) == sorted(
        f"rule_{rule}" for rule in ran if rule != "train_network"
    )
    assert [d for d in dirs if d.startswith("group_")] == ["group_train_train_network"] * (
        TINY_NETWORKS // NETWORKS_PER_GROUP
    )
    assert "localrule" not in output.replace("localrule all:", "")


def test_training_groups_got_one_gpu_each_in_the_gpu_partition(slurm_run, slurm_cluster):
    workdir, output, _ = slurm_run
    jobs = submitted_jobs(output)
    groups = [j for j, log in jobs.items() if "/group_train_" in log]
    plots = [j for j, log in jobs.items() if "/rule_plot_fig2/" in log]
    assert len(groups) == TINY_NETWORKS // NETWORKS_PER_GROUP and len(plots) == 1
    for job_id in groups:
        info = slurm_cluster.scontrol_job(job_id)
        assert info["JobState"] == "COMPLETED", info
        assert info["Partition"] == GPU_PARTITION, info
        # The group's networks train one after another on one GPU (resources gpu=1,
        # scope local): one GPU, one network's CPUs and memory, the sum of the runtimes.
        assert info["TresPerJob"] == "gres:gpu:1", info
        assert info["CPUs/Task"] == "2" and info["MinMemoryNode"] == "4000M", info
        assert info["TimeLimit"] == f"{NETWORKS_PER_GROUP:02d}:00:00", info
    info = slurm_cluster.scontrol_job(plots[0])
    assert info["Partition"] == CPU_PARTITION and "gpu" not in info.get("TresPerJob", ""), info
    assert info["CPUs/Task"] == "1", info
    # No GPU here: training.device "auto" fell back to the CPU despite CUDA_VISIBLE_DEVICES.
    for path in (workdir / "results" / "train").rglob("metrics.json"):
        assert json.loads(path.read_text())["device"] == "cpu", path


def test_without_the_overlay_every_network_is_a_gpu_job(project_root, mirror, tmp_path):
    """profiles/slurm alone (a dry run, no cluster needed): one GPU job per network."""
    workdir = workflow_copy(project_root, mirror, tmp_path)
    profile = slurm_test_profile(project_root, workdir)
    result = subprocess.run(
        ["timeout", "-k", "10", "300", sys.executable, "-m", "snakemake", *TARGETS]
        + ["-n", "--profile", str(profile)],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    blocks = re.split(r"\n\s*\n", result.stdout)
    train = [b for b in blocks if re.search(r"^\s*rule train_network:", b, re.MULTILINE)]
    assert len(train) == TINY_NETWORKS
    for block in train:
        resources = re.search(r"resources: (.*)", block).group(1).split(", ")
        for expected in ("gpu=1", f"slurm_partition={GPU_PARTITION}", "cpus_per_task=2"):
            assert expected in resources, block
        assert "mem_mb=4000" in resources and "runtime=60" in resources, block
    assert "Group job" not in result.stdout


def test_duration(slurm_run):
    _, _, seconds = slurm_run
    print(f"tiny preset through SLURM: {seconds:.0f} s")
    assert seconds < SNAKEMAKE_TIMEOUT
