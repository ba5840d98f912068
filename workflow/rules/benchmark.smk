# Benchmarks (opt-in, not part of `all`): snakemake --cores 1 benchmark_training


rule benchmark_training:
    input:
        mnist=rules.download_mnist.output,
    output:
        "results/benchmarks/train_speed.csv",
    params:
        script=workflow.source_path("../benchmarks/train_speed.py"),
    log:
        "results/logs/benchmark_training.log",
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/pytorch.yaml"
    shell:
        "python {params.script} --mnist $(dirname {input.mnist[0]}) --threads {threads}"
        " --out {output} > {log} 2>&1"
