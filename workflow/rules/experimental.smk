# Experimental data (Figure 6) and the two computed schematics (Figures 1 and 4).
# No training needed: these rules run in seconds on a laptop.
#
# Paths (in addition to the scheme in common.smk):
#   results/experimental/fig6.npz, fig6_statistics.csv   Fig. 6 arrays and statistics
#   results/quantal/fig1.npz, fig1_exponents.csv          Fig. 1 arrays, fitted exponents ρ
#   results/schematic/fig4.npz, fig4_costs.csv            Fig. 4 arrays and costs
#   results/tables/experimental.csv                       every number of Figs 1c, 4d and 6
#   results/tables/experimental_excluded.csv              rejected data rows: file, line, reason

EXPERIMENTAL = config["experimental"]


rule analyse_experimental:
    input:
        ltp="results/data/experimental/sjostrom2001_ltp.csv",
        ltd="results/data/experimental/sjostrom2001_ltd.csv",
        ko="results/data/experimental/ko2013.csv",
    output:
        statistics="results/experimental/fig6_statistics.csv",
        excluded=report(
            "results/tables/experimental_excluded.csv", caption="../report/table_experimental_excluded.rst", category="Tables"
        ),
        arrays="results/experimental/fig6.npz",
    params:
        resamples=EXPERIMENTAL["bootstrap_resamples"],
        seed=EXPERIMENTAL["bootstrap_seed"],
        confidence=EXPERIMENTAL["confidence"],
        ko_normalisation=EXPERIMENTAL["ko_normalisation"],
        ko_paper_slope=config["claims"]["ko_paper_slope"],
    log:
        "results/logs/analyse_experimental.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/analyse_experimental.py"


rule compute_fig1:
    output:
        arrays="results/quantal/fig1.npz",
        exponents="results/quantal/fig1_exponents.csv",
    log:
        "results/logs/compute_fig1.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/compute_fig1.py"


rule compute_fig4:
    output:
        arrays="results/schematic/fig4.npz",
        costs="results/schematic/fig4_costs.csv",
    log:
        "results/logs/compute_fig4.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/compute_fig4.py"


rule tabulate_experimental:
    input:
        fig1="results/quantal/fig1_exponents.csv",
        fig4="results/schematic/fig4_costs.csv",
        fig6="results/experimental/fig6_statistics.csv",
    output:
        report(
            "results/tables/experimental.csv", caption="../report/table_experimental.rst", category="Tables"
        ),
    log:
        "results/logs/tabulate_experimental.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/tabulate_experimental.py"


rule plot_fig1:
    input:
        "results/quantal/fig1.npz",
    output:
        pdf=report(figure_files("fig1")[0], caption="../report/fig1.rst", category="Figure 1"),
        png=report(figure_files("fig1")[1], caption="../report/fig1.rst", category="Figure 1"),
    log:
        "results/logs/plot_fig1.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_fig1.py"


rule plot_fig4:
    input:
        "results/schematic/fig4.npz",
    output:
        pdf=report(figure_files("fig4")[0], caption="../report/fig4.rst", category="Figure 4"),
        png=report(figure_files("fig4")[1], caption="../report/fig4.rst", category="Figure 4"),
    log:
        "results/logs/plot_fig4.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_fig4.py"


rule plot_fig6:
    input:
        arrays="results/experimental/fig6.npz",
        statistics="results/experimental/fig6_statistics.csv",
    output:
        pdf=report(figure_files("fig6")[0], caption="../report/fig6.rst", category="Figure 6"),
        png=report(figure_files("fig6")[1], caption="../report/fig6.rst", category="Figure 6"),
    params:
        ko_paper_slope=config["claims"]["ko_paper_slope"],
    log:
        "results/logs/plot_fig6.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_fig6.py"
