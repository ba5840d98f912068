# Synapse statistics of trained networks: Hessian (empirical Fisher), learning
# rate and input rate per synapse (Figure 5, Appendix 6 figures 1 and 2), and an
# exact-Hessian check of the empirical Fisher (beyond the paper).
#
#   train_network / train_group (s = 0.001, c = s^ρ/ρ x c_factors, heterogeneous, every seed)
#     -> extract_statistics_group (one job per seed, its networks in one process)
#     -> tabulate_curvature, tabulate_fisher_vs_hessian -> plot_fig5, plot_figA6_1, plot_figA6_2
#
# Paths (in addition to the scheme in common.smk):
#   results/curvature/{noise}/rho{rho}/c{c}/seed{seed}/statistics.npz   per synapse:
#       σ², Hessian estimates, learning rates, input rates, exact-Hessian subset
#   results/curvature/{noise}/rho{rho}/c{c}/seed{seed}/summary.json
#   results/tables/curvature.csv          Spearman r and log-log slope of σ² vs each quantity
#   results/tables/fisher_vs_hessian.csv  rank correlation of empirical Fisher and exact Hessian

for job_name, job in STATISTICS_JOBS.items():
    if not job["members"]:
        continue

    rule:
        name:
            job_name
        input:
            params=per_seed_paths(f"{job['train_dir']}/params.pt", job["members"]),
            mnist=rules.download_mnist.output,
        output:
            statistics=per_seed_paths(f"{job['out_dir']}/statistics.npz", job["members"]),
            summary=per_seed_paths(f"{job['out_dir']}/summary.json", job["members"]),
        params:
            members=job["members"],
            training=job["training"],
            curvature=job["curvature"],
        log:
            f"results/logs/{job_name}/seed{{seed}}.log",
        benchmark:
            f"results/benchmarks/{job_name}/seed{{seed}}.tsv"
        threads: 1
        # Ahead of the sweep's remaining training groups once its networks are trained
        # (they are grouped first), so that it does not run alone at the end.
        priority: 10
        resources:
            mem_mb=lambda wildcards, attempt: 4000 * attempt,
            runtime=statistics_runtime_of(job),
        conda:
            "../../envs/pytorch.yaml"
        script:
            "../scripts/extract_statistics_group.py"


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


# Figure 5 on the synapses whose exact H_ii the statistics pass computed: σ² against the
# empirical Fisher and against the exact Hessian, and the fits of every layer and network.
rule plot_fig5_exact_hessian:
    input:
        [n["path"] for n in curvature_statistics()],
    output:
        table=report(
            "results/tables/exact_hessian.csv", caption="../report/table_exact_hessian.rst", category="Tables"
        ),
        pdf=report(
            figure_files("fig5_exact_hessian")[0], caption="../report/fig5_exact_hessian.rst", category="Figure 5"
        ),
        png=report(
            figure_files("fig5_exact_hessian")[1], caption="../report/fig5_exact_hessian.rst", category="Figure 5"
        ),
    params:
        networks=curvature_statistics(),
        figure_networks=figure_networks([1]),
        layer=2,
        gradient=CURVATURE["fisher_gradient"],
    log:
        "results/logs/plot_fig5_exact_hessian.log",
    conda:
        "../../envs/analysis.yaml"
    priority: -100  # as the other Figure 5 plots
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_fig5_exact_hessian.py"


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
            gradient=CURVATURE["fisher_gradient"],
            learning_rate=CURVATURE["learning_rate_form"],
            scatter_points=CURVATURE["scatter_points"],
            scatter_seed=CURVATURE["scatter_seed"],
        log:
            f"results/logs/plot_{figure_name}.log",
        conda:
            "../../envs/analysis.yaml"
        # After the training groups (priority 0, -1, ...): these 10-20 s scatter figures
        # then fill the cores beside the last group instead of delaying it.
        priority: -100
        resources:
            mem_mb=2000,
            runtime=10,
        script:
            "../scripts/plot_curvature.py"
