# Training: one job per (noise setting, rho, c, seed), or, with
# training.group_size > 1, one job per group of networks trained together in one
# process (each still writes its own files); the table of the sweep's metrics.


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
        mem_mb=3000,
        runtime=lambda wildcards, attempt: 120 * attempt,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/train_network.py"


# Group rules have no wildcards, so Snakemake prefers them to train_network for the
# files of every network of this architecture that the workflow needs (Figures 2, 3,
# 5, 7, Appendix 6).
if config["training"]["group_size"] > 1:
    for group_index, members in enumerate(training_groups(config)):

        rule:
            name:
                f"train_group_{group_index}"
            input:
                mnist=rules.download_mnist.output,
            output:
                params=[f"{TRAIN_DIR}/params.pt".format(**m) for m in members],
                metrics=[f"{TRAIN_DIR}/metrics.json".format(**m) for m in members],
            params:
                training=TRAINING_PARAMS,
                members=members,
            log:
                f"results/logs/train_group/group{group_index}.log",
            benchmark:
                f"results/benchmarks/train_group/group{group_index}.tsv"
            threads: 1
            resources:
                mem_mb=2000 + 500 * len(members),
                runtime=lambda wildcards, attempt, n=len(members): 120 * n * attempt,
            conda:
                "../../envs/pytorch.yaml"
            script:
                "../scripts/train_group.py"


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
