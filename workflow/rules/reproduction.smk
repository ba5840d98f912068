# How close the workflow comes to the published results (efficient_synapses.reproduction.table):
# the authors' arrays of Figures 2, 3 and 5 beside ours in one table with tolerances and
# verdicts, and Figure 5 drawn from both.
#
#   download_published -> tabulate_reproduction <- training.csv, curvature.csv, statistics
#                      -> plot_fig5_published   <- curvature.csv, statistics
#
# Paths: results/reproduction.{csv,md}; figures/fig5_published.{pdf,png}


rule tabulate_reproduction:
    input:
        unpack(reproduction_inputs),
    output:
        csv=report(
            "results/reproduction.csv",
            caption="../report/reproduction.rst",
            category="Reproduction",
        ),
        md="results/reproduction.md",
    params:
        config=lambda wildcards: {k: config[k] for k in ("training", "curvature", "published")},
        statistics=lambda wildcards: reproduction_statistics(),
    log:
        "results/logs/tabulate_reproduction.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/tabulate_reproduction.py"


# Figure 5 (layer 2, c = s^ρ/ρ) drawn from our networks and from the published arrays.
rule plot_fig5_published:
    input:
        table="results/tables/curvature.csv",
        statistics=[n["path"] for n in figure_networks([1])],
        published=PUBLISHED_DIR,
    output:
        pdf=report(
            figure_files("fig5_published")[0],
            caption="../report/fig5_published.rst",
            category="Reproduction",
        ),
        png=report(
            figure_files("fig5_published")[1],
            caption="../report/fig5_published.rst",
            category="Reproduction",
        ),
    params:
        networks=figure_networks([1]),
        layer=2,
        gradient=CURVATURE["fisher_gradient"],
        scatter_points=CURVATURE["scatter_points"],
        scatter_seed=CURVATURE["scatter_seed"],
    log:
        "results/logs/plot_fig5_published.log",
    conda:
        "../../envs/analysis.yaml"
    priority: -100  # as the other Figure 5 plots
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_fig5_published.py"
