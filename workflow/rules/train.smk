# Training: one job per (noise setting, rho, c, seed) (rule train_network), or, with
# training.group_size > 1, one job per group of networks trained together in one
# process, vectorised (rule train_group, wildcard {group}); the table of the sweep's
# metrics.
#
# Paths of the grouped path (in addition to the scheme in common.smk):
#   results/train_groups/group{group}/{noise}/rho{rho}/c{c}/seed{seed}/   the group's
#       output: params.pt and metrics.json of each member
#   results/train_groups/resume/group{group}-<key>/   the group's per-epoch checkpoint,
#       outside the group's output (Snakemake empties that before rerunning a killed job);
#       <key> hashes the members and the training settings, so a group with other members
#       or settings never resumes it
# Each member's canonical results/train/... files are hard links into its group's
# directory (rule link_group_network, local, no copy), so every later stage reads the
# same per-network paths whatever the group size.

rule train_network:
    input:
        mnist=rules.download_mnist.output,
    output:
        params=f"{TRAIN_DIR}/params.pt",
        metrics=f"{TRAIN_DIR}/metrics.json",
    params:
        training=TRAINING_PARAMS,
    log:
        "results/logs/train/{noise}/rho{rho}/c{c}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{noise}/rho{rho}/c{c}/seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: training_mem_mb(1, attempt),
        runtime=lambda wildcards, threads, attempt: training_runtime(1, threads, attempt),
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/train_network.py"


if TRAINING_GROUPS:

    # One group of networks (training_groups: consecutive networks of the Figure 2/3
    # sweep, then those of Figures 5 and 7 and Appendix 6) in one process.
    rule train_group:
        input:
            mnist=rules.download_mnist.output,
        output:
            directory(TRAIN_GROUP_DIR),
        wildcard_constraints:
            group=r"[0-9]+",
        params:
            training=TRAINING_PARAMS,
            members=group_members,
            member_dir=lambda wildcards: GROUP_MEMBER_DIR,  # a function: no expansion
            resume_dir="results/train_groups/resume",
        log:
            "results/logs/train_group/group{group}.log",
        benchmark:
            "results/benchmarks/train_group/group{group}.tsv"
        threads: 1
        priority: group_priority
        resources:
            mem_mb=lambda wildcards, attempt: training_mem_mb(len(group_members(wildcards)), attempt),
            runtime=lambda wildcards, threads, attempt: training_runtime(
                len(group_members(wildcards)), threads, attempt
            ),
        conda:
            "../../envs/pytorch.yaml"
        script:
            "../scripts/train_group.py"

    # A network's canonical files: hard links to those in its group's directory (copies
    # where the two are on different file systems).
    rule link_group_network:
        input:
            group=network_group_dir,
        output:
            params=f"{TRAIN_DIR}/params.pt",
            metrics=f"{TRAIN_DIR}/metrics.json",
        params:
            member=lambda wildcards, input: f"{input.group}/{GROUP_MEMBER_DIR}".format(**dict(wildcards.items())),
        log:
            "results/logs/link_group_network/{noise}/rho{rho}/c{c}/seed{seed}.log",
        localrule: True
        # At once: a statistics pass or fit waits for its networks' links, not only their group.
        priority: 20
        resources:
            mem_mb=100,
            runtime=1,
        shell:
            "(ln -f {params.member}/params.pt {output.params}"
            " || cp -f {params.member}/params.pt {output.params})"
            " && (ln -f {params.member}/metrics.json {output.metrics}"
            " || cp -f {params.member}/metrics.json {output.metrics}) > {log} 2>&1"

    ruleorder: link_group_network > train_network


rule aggregate_training:
    input:
        sweep_metrics(),
    output:
        report(
            "results/tables/training.csv", caption="../report/table_training.rst", category="Tables"
        ),
    log:
        "results/logs/aggregate_training.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/aggregate_training.py"
