# Raw inputs: local mirror first, then the public source; checksums always verified.


rule download_mnist:
    output:
        expand(f"{MNIST_RAW}/{{name}}", name=list(MNIST_RAW_MD5)),
    params:
        mirror=mirror_path("mnist"),
        # results/data/mnist, the root torchvision expects (it adds MNIST/raw).
        out_dir=lambda wildcards, output: str(Path(output[0]).parents[2]),
    log:
        "results/logs/download_mnist.log",
    conda:
        "../../envs/pytorch.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/download_mnist.py"


rule download_experimental:
    output:
        "results/data/experimental/{dataset}.csv",
    wildcard_constraints:
        dataset="|".join(EXPERIMENTAL_FILES),
    params:
        mirror=mirror_path("experimental"),
    log:
        "results/logs/download_experimental/{dataset}.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/download_experimental.py"


# The authors' published arrays of Figures 2, 3 and 5 (results/data/published/<original
# path>), every file verified by its sha256; a missing or corrupt one stops the rule
# naming it, and leaves nothing behind.
rule download_published:
    output:
        directory(PUBLISHED_DIR),
    params:
        mirror=mirror_path("published"),
    log:
        "results/logs/download_published.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/download_published.py"
