"""A throw-away one-node SLURM cluster on 127.0.0.1, for tests/test_slurm.py.

Needs root. Installs slurm-wlm and munge with apt-get when they are missing, writes
/etc/slurm/slurm.conf and /etc/slurm/gres.conf (backing up and later restoring any
that were there: the plugin's job steps strip SLURM_CONF, so the configuration must
live where the SLURM commands look by default), starts munged (unless one already
answers), slurmctld and slurmd in the foreground as child processes, and stops
exactly those processes again. State, spool, pid and log files live in a temporary
directory.

The node declares stand-in GPUs (gres gpu:fake:N backed by /dev/null, /dev/zero, ...)
so that rules which request a GPU can be scheduled on a machine without one: their jobs
see CUDA_VISIBLE_DEVICES, find no CUDA driver and fall back to the CPU. There is no
accounting daemon: the test's profile queries job states with squeue, and MinJobAge
keeps finished jobs visible to squeue and scontrol for long enough. A lock file makes
two test sessions on one machine take turns.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SLURM_ETC = Path("/etc/slurm")
# Held while a test cluster is up: two test sessions on one machine take turns.
LOCK_FILE = Path("/run/lock/efficient-synapses-slurm-test.lock")
BINARIES = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue")
APT_PACKAGES = ("slurm-wlm", "munge")
CPU_PARTITION = "cpu"
GPU_PARTITION = "gpu"
GPU_TYPE = "fake"
FAKE_GPU_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom")


class ClusterUnavailable(Exception):
    """The cluster cannot be set up here (not root, no apt-get, install failed)."""


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def ensure_installed(timeout: float = 900) -> None:
    """Install slurm-wlm and munge with apt-get when a binary is missing."""
    if os.geteuid() != 0:
        raise ClusterUnavailable("a local SLURM cluster needs root (to write /etc/slurm)")
    if all(_which(b) for b in BINARIES):
        return
    if _which("apt-get") is None:
        missing = [b for b in BINARIES if not _which(b)]
        raise ClusterUnavailable(f"SLURM/munge missing ({', '.join(missing)}) and no apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *APT_PACKAGES],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    missing = [b for b in BINARIES if not _which(b)]
    if missing:
        raise ClusterUnavailable(f"installed {APT_PACKAGES} but still missing {missing}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line(min_cpus: int) -> str:
    """The node as slurmd sees it (`slurmd -C`), with at least min_cpus CPUs and 16 GB.

    Neither CPUs nor memory are enforced here (no cgroups; SlurmdParameters=
    config_overrides lets slurmd accept the declaration), so a small test machine can
    run a few jobs side by side, each with the requests the profile makes.
    """
    out = subprocess.run(
        [_which("slurmd"), "-C"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("NodeName="))
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    cpus = max(int(fields["CPUs"]), min_cpus)
    mem = max(int(fields["RealMemory"]), 16000)
    return (
        f"NodeName={fields['NodeName']} CPUs={cpus} Boards=1 SocketsPerBoard=1 "
        f"CoresPerSocket={cpus} ThreadsPerCore=1 RealMemory={mem}"
    )


def _munge_works() -> bool:
    try:
        cred = subprocess.run(
            [_which("munge"), "-n"], capture_output=True, timeout=10, check=True
        ).stdout
        return (
            subprocess.run(
                [_which("unmunge")], input=cred, capture_output=True, timeout=10
            ).returncode
            == 0
        )
    except (subprocess.SubprocessError, OSError):
        return False


class LocalSlurmCluster:
    """start() brings the cluster up and waits for an idle node; stop() undoes everything."""

    def __init__(self, workdir: Path, min_job_age: int = 300, gpus: int = 1, min_cpus: int = 1):
        self.workdir = Path(workdir)
        self.min_job_age = min_job_age
        if not 1 <= gpus <= len(FAKE_GPU_DEVICES):
            raise ValueError(f"gpus must be 1..{len(FAKE_GPU_DEVICES)}")
        self.gpus = gpus
        self.min_cpus = min_cpus
        self.hostname = socket.gethostname().split(".")[0]
        self.processes: dict[str, subprocess.Popen] = {}
        self.backups: dict[Path, Path | None] = {}
        self._lock = None

    # -- configuration ---------------------------------------------------------------

    def slurm_conf(self) -> str:
        d = self.workdir
        node = _node_line(self.min_cpus)
        node_name = re.search(r"NodeName=(\S+)", node).group(1)
        return "\n".join(
            [
                "# Written by tests/slurm_cluster.py; removed when the test ends.",
                "ClusterName=esynapses-test",
                f"SlurmctldHost={self.hostname}(127.0.0.1)",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                f"StateSaveLocation={d / 'state'}",
                f"SlurmdSpoolDir={d / 'spool'}",
                f"SlurmctldPidFile={d / 'slurmctld.pid'}",
                f"SlurmdPidFile={d / 'slurmd.pid'}",
                f"SlurmctldLogFile={d / 'slurmctld.log'}",
                f"SlurmdLogFile={d / 'slurmd.log'}",
                # No cgroups in a container: track processes by parentage, bind nothing.
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "SchedulerType=sched/backfill",
                "MpiDefault=none",
                "ReturnToService=2",
                # Finished jobs stay visible to squeue/scontrol this long (seconds): the
                # plugin uses squeue only when MinJobAge >= 3 x its initial status delay.
                f"MinJobAge={self.min_job_age}",
                "KillWait=5",
                "InactiveLimit=0",
                "SlurmdParameters=config_overrides",
                "GresTypes=gpu",
                f"{node} NodeAddr=127.0.0.1 Gres=gpu:{GPU_TYPE}:{self.gpus} State=UNKNOWN",
                f"PartitionName={CPU_PARTITION} Nodes={node_name} Default=YES "
                "MaxTime=INFINITE State=UP",
                f"PartitionName={GPU_PARTITION} Nodes={node_name} MaxTime=INFINITE State=UP",
                "",
            ]
        )

    def gres_conf(self) -> str:
        # No real GPUs: harmless character devices stand in for them (slurmd wants
        # device files), and no NVML auto-detection.
        lines = [f"Name=gpu Type={GPU_TYPE} File={dev}\n" for dev in FAKE_GPU_DEVICES[: self.gpus]]
        return "AutoDetect=off\n" + "".join(lines)

    def _install_file(self, path: Path, text: str) -> None:
        if path not in self.backups:
            backup = None
            if path.exists():
                backup = self.workdir / f"{path.name}.orig"
                shutil.copy2(path, backup)
            self.backups[path] = backup
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def _restore_files(self) -> None:
        for path, backup in self.backups.items():
            if backup is None:
                path.unlink(missing_ok=True)
            else:
                shutil.copy2(backup, path)
        self.backups.clear()

    # -- daemons ---------------------------------------------------------------------

    def _spawn(self, name: str, cmd: list[str], **kwargs) -> None:
        with open(self.workdir / f"{name}.out", "w") as log:  # the child keeps its own copy
            self.processes[name] = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
            )

    def _start_munged(self) -> None:
        if _munge_works():  # a munged is already running (e.g. a real installation): use it
            return
        run_dir = Path("/run/munge")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        run_dir.chmod(0o755)
        self._spawn("munged", [_which("munged"), "--foreground"], user="munge", group="munge")
        self._wait(_munge_works, 20, "munged to answer (munge -n | unmunge)")

    def _acquire_lock(self, seconds: float = 900) -> None:
        LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(LOCK_FILE, "w")  # held (flock) until stop() closes it
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError as busy:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{LOCK_FILE} still held after {seconds} s") from busy
                time.sleep(1)

    def start(self) -> None:
        self._acquire_lock()
        for sub in ("state", "spool"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        self._install_file(SLURM_ETC / "slurm.conf", self.slurm_conf())
        self._install_file(SLURM_ETC / "gres.conf", self.gres_conf())
        self._start_munged()
        # -D: stay in the foreground (so the PID is ours); -i: ignore stale state.
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i"])
        self._wait(lambda: self._sinfo("%P") != "", 30, "slurmctld to answer sinfo")
        self._spawn("slurmd", [_which("slurmd"), "-D"])
        self._wait(lambda: self._node_states() == {"idle"}, 60, "the node to become idle")

    def _sinfo(self, fmt: str) -> str:
        done = subprocess.run(
            [_which("sinfo"), "--noheader", "-o", fmt], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    def _node_states(self) -> set[str]:
        return set(self._sinfo("%T").split())

    def _wait(self, ready, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {seconds} s waiting for {what}:\n{self.logs()}")

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for path in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.out")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def scontrol_job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as key=value pairs (for jobs younger than MinJobAge)."""
        out = subprocess.run(
            [_which("scontrol"), "show", "job", "-o", str(job_id)],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return dict(re.findall(r"(\S+?)=(\S*)", out))

    def cancel_all_jobs(self) -> None:
        """Cancel what is left on this (our own) cluster, e.g. after a failed run."""
        if "slurmctld" not in self.processes or self.processes["slurmctld"].poll() is not None:
            return
        subprocess.run([_which("scancel"), "--full", "--user", "root"], timeout=20, check=False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            queue = subprocess.run(
                [_which("squeue"), "--noheader", "--states=PD,R,CG"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if queue.returncode != 0 or not queue.stdout.strip():
                return
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the daemons this object started (by PID), then restore /etc/slurm."""
        try:
            self.cancel_all_jobs()
        finally:
            for name in ("slurmd", "slurmctld", "munged"):
                proc = self.processes.pop(name, None)
                if proc is None or proc.poll() is not None:
                    continue
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=15)
            self._restore_files()
            if self._lock is not None:
                self._lock.close()  # releases the flock
                self._lock = None
