"""Train one group of networks together (vectorised, one process) and write each member's
parameters and metrics into the group's directory.

The per-epoch checkpoint lives outside that directory (Snakemake empties a directory
output before it reruns a killed job), under ``resume_dir``/group<i>-<key>, where <key>
hashes the members and every training setting: a group with other members or settings
never resumes it (the engine also checks the members and optimiser options it records).
Training writes into that resume directory; the finished files then move into the
group's directory, and the resume directory is removed.
"""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the efficient_synapses package

from efficient_synapses.artefacts import METRICS_FILE, PARAMS_FILE, NetworkSpec
from efficient_synapses.logs import log_to
from efficient_synapses.training.jobs import run_training

FILES = (PARAMS_FILE, METRICS_FILE)

with log_to(snakemake.log[0]) as log:
    members = snakemake.params.members
    training = snakemake.params.training
    group = snakemake.wildcards.group
    specs = [NetworkSpec.from_wildcards(m) for m in members]
    member_dirs = [snakemake.params.member_dir.format(**m) for m in members]

    identity = json.dumps({"members": members, "training": training}, sort_keys=True)
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    resume_root = Path(snakemake.params.resume_dir)
    work = resume_root / f"group{group}-{key}"
    for stale in sorted(resume_root.glob(f"group{group}-*")):
        if stale != work:  # another membership or settings of this group number
            log(f"removing {stale}: a checkpoint of other members or settings")
            shutil.rmtree(stale)
    if list((work / member_dirs[0]).glob("checkpoint*.pt")):
        log(f"a checkpoint of this group is in {work}: training resumes from it")

    run_training(
        specs,
        training,
        mnist_dir=Path(snakemake.input.mnist[0]).parent,
        out_dirs=[work / d for d in member_dirs],
        log=log,
        threads=snakemake.threads,
    )

    out = Path(snakemake.output[0])
    for d in member_dirs:
        (out / d).mkdir(parents=True, exist_ok=True)
        for name in FILES:
            os.replace(work / d / name, out / d / name)
    shutil.rmtree(work)
    log(f"{len(members)} network(s) written to {out}")
