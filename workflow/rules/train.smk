# Training: one job per (noise setting, rho, c, seed); tables of their metrics.


rule train_network:
    input:
        mnist=rules.download_mnist.output,
    output:
        params=f"{TRAIN_DIR}/params.pt",
        metrics=f"{TRAIN_DIR}/metrics.json",
    params:
        training=config["training"],
    log:
        "results/logs/train/{noise}/rho{rho}/c{c}/seed{seed}.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=lambda wildcards, attempt: 120 * attempt,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/train_network.py"


rule aggregate_training:
    input:
        sweep_metrics(),
    output:
        "results/tables/training.csv",
    log:
        "results/logs/aggregate_training.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/aggregate_training.py"
