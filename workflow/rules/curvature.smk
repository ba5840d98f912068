# Synapse statistics of trained networks: Hessian (empirical Fisher), learning
# rate and input rate per synapse (Figure 5, Appendix 6 figures 1 and 2), and an
# exact-Hessian check of the empirical Fisher (beyond the paper).
#
#   train_network (s = 0.001, c = s^ρ/ρ x c_factors, heterogeneous, every seed)
#     -> extract_statistics (one job per network) -> tabulate_curvature,
#        tabulate_fisher_vs_hessian -> plot_fig5, plot_figA6_1, plot_figA6_2
#
# Paths (in addition to the scheme in common.smk):
#   results/curvature/{noise}/rho{rho}/c{c}/seed{seed}/statistics.npz   per synapse:
#       σ², Hessian estimates, learning rates, input rates, exact-Hessian subset
#   results/curvature/{noise}/rho{rho}/c{c}/seed{seed}/summary.json
#   results/tables/curvature.csv          Spearman r and log-log slope of σ² vs each quantity
#   results/tables/fisher_vs_hessian.csv  rank correlation of empirical Fisher and exact Hessian

rule extract_statistics:
    input:
        params=f"{TRAIN_DIR}/params.pt",
        mnist=rules.download_mnist.output,
    output:
        statistics=f"{CURVATURE_DIR}/statistics.npz",
        summary=f"{CURVATURE_DIR}/summary.json",
    params:
        training=TRAINING_PARAMS,
        curvature=CURVATURE_EXTRACTION,
    log:
        "results/logs/extract_statistics/{noise}/rho{rho}/c{c}/seed{seed}.log",
    benchmark:
        "results/benchmarks/extract_statistics/{noise}/rho{rho}/c{c}/seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda wildcards, attempt: 60 * attempt,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/extract_statistics.py"


rule tabulate_curvature:
    input:
        [n["path"] for n in curvature_statistics()],
    output:
        report(
            "results/tables/curvature.csv", caption="../report/table_curvature.rst", category="Tables"
        ),
    params:
        networks=curvature_statistics(),
    log:
        "results/logs/tabulate_curvature.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/tabulate_curvature.py"


rule tabulate_fisher_vs_hessian:
    input:
        [n["path"] for n in curvature_statistics()],
    output:
        report(
            "results/tables/fisher_vs_hessian.csv", caption="../report/table_fisher_vs_hessian.rst", category="Tables"
        ),
    params:
        networks=curvature_statistics(),
    log:
        "results/logs/tabulate_fisher_vs_hessian.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/tabulate_fisher_vs_hessian.py"


for figure_name, figure in CURVATURE_FIGURES.items():

    rule:
        name:
            f"plot_{figure_name}"
        input:
            table="results/tables/curvature.csv",
            statistics=[
                n["path"] for n in figure_networks(sorted({f for _, f in figure["blocks"]}))
            ],
        output:
            pdf=report(
                figure_files(figure_name)[0],
                caption=f"../report/{figure_name}.rst",
                category=figure["category"],
            ),
            png=report(
                figure_files(figure_name)[1],
                caption=f"../report/{figure_name}.rst",
                category=figure["category"],
            ),
        params:
            blocks=figure["blocks"],
            networks=figure_networks(sorted({f for _, f in figure["blocks"]})),
            gradient=CURVATURE["gradient"],
            learning_rate=CURVATURE["learning_rate"],
            scatter_points=CURVATURE["scatter_points"],
            scatter_seed=CURVATURE["scatter_seed"],
        log:
            f"results/logs/plot_{figure_name}.log",
        conda:
            "../../envs/analysis.yaml"
        resources:
            mem_mb=2000,
            runtime=10,
        script:
            "../scripts/plot_curvature.py"
