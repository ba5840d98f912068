"""profiles/slurm against a real (one-node, local) SLURM cluster.

A session fixture installs slurm-wlm and munge with apt-get if needed, starts munged,
slurmctld and slurmd (tests/slurm_cluster.py), and runs the tiny preset through a
profile generated from profiles/slurm/config.yaml with only the site settings
(partitions, account, job-status query) replaced, training in vectorised groups of 4
networks (rule train_group) as profiles/slurm trains in groups of 120. The tests then
check the outputs and that every job really ran as a SLURM job, with the resources the
rules and the profile ask for. Needs root; skipped otherwise (pytest -m "not slurm"
deselects it). The dry-run tests need no cluster.
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
# Seconds after which snakemake is killed (timeout -k); a slow or busy machine may need
# more (the run takes a few minutes on an idle 2-core machine).
SNAKEMAKE_TIMEOUT = int(os.environ.get("EFFICIENT_SYNAPSES_SLURM_TIMEOUT", "600"))
# The Figure 2/3 path (download, train, tabulate, draw) and the curvature table (training,
# statistics passes): every kind of job the profile configures for these, without the
# rest of the tiny preset, which tests/test_workflow.py runs.
TARGETS = ["fig2", "fig3", "curvature"]
SWEEP_NETWORKS = 2 * 2 * 2 * 1  # rho x c x noise x seed of profiles/tiny
CURVATURE_NETWORKS = 2 * 2 * 1  # rho x c factors x seed of profiles/tiny
NETWORKS_PER_GROUP = 4  # the test's training.group_size: 3 groups of 4
GROUPS = (SWEEP_NETWORKS + CURVATURE_NETWORKS) // NETWORKS_PER_GROUP
# Paper settings (config.yaml): 720 + 36 + 36 networks of the paper's architecture.
PAPER_NETWORKS = 792


def slurm_test_profile(
    project_root: Path, workdir: Path, training: dict | None = None, preset: str | None = "tiny"
) -> Path:
    """profiles/slurm with the site settings pointed at the local test cluster.

    Configuration: config.yaml, the preset's overrides (tiny: profiles/tiny; None: the
    paper settings), profiles/slurm's own overrides, then the test's: the targets above
    and ``training`` (tiny: groups of 4 and training.device auto, since the stand-in GPUs
    have no CUDA).
    """
    profile = yaml.safe_load((project_root / "profiles" / "slurm" / "config.yaml").read_text())
    configfiles = list(profile["configfile"])
    extra_config = {}
    if preset is not None:
        preset_profile = project_root / "profiles" / preset / "config.yaml"
        preset_files = yaml.safe_load(preset_profile.read_text())["configfile"]
        configfiles = [*preset_files, *[f for f in configfiles if f not in preset_files]]
        extra_config["targets"] = TARGETS
        training = {"group_size": NETWORKS_PER_GROUP, "device": "auto"} | (training or {})
    if training:
        extra_config["training"] = training
    extra = workdir / "slurm-test-overrides.yaml"
    extra.write_text(yaml.safe_dump(extra_config))
    profile["configfile"] = [*configfiles, str(extra)]

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
    directory.mkdir(exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


def job_blocks(output: str, rule: str) -> dict[str, dict[str, str]]:
    """Wildcards (as the plugin's log directory names them: values joined by "_") ->
    resources of every job of ``rule`` that Snakemake printed."""
    jobs = {}
    for block in re.split(r"\n\s*\n", output):
        if not re.search(rf"^\s*(?:local)?rule {rule}:\s*$", block, re.MULTILINE):
            continue
        wildcards = re.search(r"^\s*wildcards: (.*)$", block, re.MULTILINE)
        values = [w.split("=", 1)[1] for w in wildcards.group(1).split(", ")] if wildcards else []
        resources = re.search(r"^\s*resources: (.*)$", block, re.MULTILINE).group(1)
        jobs["_".join(values)] = dict(r.split("=", 1) for r in resources.split(", "))
    return jobs


def slurm_time(minutes: int) -> str:
    """A runtime in minutes as scontrol shows a time limit ([D-]HH:MM:SS)."""
    days, rest = divmod(int(minutes), 24 * 60)
    text = f"{rest // 60:02d}:{rest % 60:02d}:00"
    return f"{days}-{text}" if days else text


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    try:
        ensure_installed()
    except ClusterUnavailable as reason:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"CI must run the SLURM test: {reason}")
        pytest.skip(str(reason))
    # Two stand-in GPUs and four (declared) CPUs: two GPU jobs run at once.
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
        + [sys.executable, "-m", "snakemake", "--profile", str(profile)],
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
    assert len(metrics) == SWEEP_NETWORKS + CURVATURE_NETWORKS
    statistics = list((workdir / "results" / "curvature").rglob("statistics.npz"))
    assert len(statistics) == CURVATURE_NETWORKS  # targets without Fig. 7: its networks not
    for table in ("training", "curvature"):
        assert (workdir / "results" / "tables" / f"{table}.csv").is_file()
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
    # One SLURM job per job of the DAG, except the local hard links of the networks'
    # files into their canonical places (and the target rule, which runs no code).
    ran = re.findall(r"^\s*rule (\w+):$", output, flags=re.MULTILINE)
    local = re.findall(r"^\s*localrule (\w+):$", output, flags=re.MULTILINE)
    assert sorted(local) == sorted(
        ["all"] + ["link_group_network"] * (SWEEP_NETWORKS + CURVATURE_NETWORKS)
    )
    assert ran.count("train_group") == GROUPS and "train_network" not in ran
    assert ran.count("extract_statistics_group") == 1  # one seed
    dirs = [Path(log).relative_to(slurm_logs).parts[0] for log in jobs.values()]
    assert sorted(dirs) == sorted(f"rule_{rule}" for rule in ran)


def test_groups_ran_on_the_gpu_partition_with_their_resources(slurm_run, slurm_cluster):
    workdir, output, _ = slurm_run
    jobs = submitted_jobs(output)
    slurm_logs = workdir / ".snakemake" / "slurm_logs"
    checked = {}
    for rule in ("train_group", "extract_statistics_group"):
        expected = job_blocks(output, rule)  # the resources Snakemake computed per job
        assert len(expected) == (GROUPS if rule == "train_group" else 1), expected
        for job_id, log in jobs.items():
            parts = Path(log).relative_to(slurm_logs).parts
            if parts[0] != f"rule_{rule}":
                continue
            wildcards = parts[1]
            resources = expected[wildcards]
            info = slurm_cluster.scontrol_job(job_id)
            assert info["JobState"] == "COMPLETED", info
            assert info["Comment"] == f"rule_{rule}_wildcards_{wildcards}", info
            assert info["Partition"] == GPU_PARTITION and info["TresPerJob"] == "gres:gpu:1", info
            assert info["CPUs/Task"] == "2", info
            # The rule's estimates, as Snakemake computed them, are what SLURM got.
            assert info["MinMemoryNode"] == f"{resources['mem_mb']}M", (info, resources)
            assert info["TimeLimit"] == slurm_time(int(resources["runtime"])), (info, resources)
            checked.setdefault(rule, []).append(wildcards)
    assert sorted(checked["train_group"]) == [str(g) for g in range(GROUPS)]
    assert checked["extract_statistics_group"] == ["0"]
    plots = [j for j, log in jobs.items() if "/rule_plot_fig2/" in log]
    info = slurm_cluster.scontrol_job(plots[0])
    assert info["Partition"] == CPU_PARTITION and "gpu" not in info.get("TresPerJob", ""), info
    assert info["CPUs/Task"] == "1", info
    # No GPU here: training.device "auto" fell back to the CPU despite CUDA_VISIBLE_DEVICES.
    for path in (workdir / "results" / "train").rglob("metrics.json"):
        metrics = json.loads(path.read_text())
        assert metrics["device"] == "cpu", path
        assert len(metrics["group"]) == NETWORKS_PER_GROUP, path  # trained in a group


def dry_run(workdir: Path, profile: Path, *profiles: str) -> str:
    result = subprocess.run(
        ["timeout", "-k", "10", "300", sys.executable, "-m", "snakemake", "-n"]
        + ["--profile", str(profile)]
        + [arg for p in profiles for arg in ("--profile", p)],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def assert_gpu_job(resources: dict[str, str]) -> None:
    assert resources["gpu"] == "1" and resources["slurm_partition"] == GPU_PARTITION, resources
    assert resources["cpus_per_task"] == "2", resources


@pytest.mark.parametrize(("overlay", "groups"), [(None, 7), ("profiles/slurm-grouped", 4)])
def test_paper_settings_train_in_gpu_groups(project_root, mirror, tmp_path, overlay, groups):
    """profiles/slurm (a dry run, no cluster needed): the 792 networks of the paper's
    architecture in 7 GPU jobs of up to 120 (slurm-grouped: 4 of up to 240), each with the
    runtime the rule estimates for its size on CUDA; statistics one GPU job per seed."""
    workdir = workflow_copy(project_root, mirror, tmp_path)
    profile = slurm_test_profile(project_root, workdir, preset=None)
    output = dry_run(workdir, profile, *([overlay] if overlay else []))
    train = job_blocks(output, "train_group")
    assert sorted(train) == [str(g) for g in range(groups)]
    size = -(-PAPER_NETWORKS // groups)  # members of every group but the last
    runtimes = {int(r["runtime"]) for g, r in train.items() if int(g) < groups - 1}
    assert len(runtimes) == 1, runtimes  # groups of one size get one estimate
    last = int(train[str(groups - 1)]["runtime"])
    assert last < runtimes.pop() < 24 * 60, (size, train)  # fewer members, less time
    for resources in train.values():
        assert_gpu_job(resources)
    assert not job_blocks(output, "train_network")
    links = re.findall(r"^\s*(?:local)?rule link_group_network:", output, re.M)
    assert len(links) == PAPER_NETWORKS
    statistics = job_blocks(output, "extract_statistics_group")
    assert sorted(statistics) == ["0", "1", "2"]  # one per seed
    for resources in statistics.values():
        assert_gpu_job(resources)


def test_group_size_one_makes_every_network_a_gpu_job(project_root, mirror, tmp_path):
    """profiles/slurm with training.group_size 1 (a dry run): one GPU job per network."""
    workdir = workflow_copy(project_root, mirror, tmp_path)
    profile = slurm_test_profile(project_root, workdir, training={"group_size": 1})
    output = dry_run(workdir, profile)
    train = job_blocks(output, "train_network")
    assert len(train) == SWEEP_NETWORKS + CURVATURE_NETWORKS
    for resources in train.values():
        assert_gpu_job(resources)
        assert int(resources["runtime"]) > 0 and int(resources["mem_mb"]) > 0
    assert not job_blocks(output, "train_group") and "link_group_network" not in output


def test_duration(slurm_run):
    _, _, seconds = slurm_run
    print(f"tiny preset through SLURM: {seconds:.0f} s")
    assert seconds < SNAKEMAKE_TIMEOUT
