# Figures: each rule reads saved tables and only draws.


rule plot_fig2:
    input:
        table="results/tables/training.csv",
        published=published_input(),
    output:
        pdf=report("figures/fig2.pdf", caption="../report/fig2.rst", category="Figure 2"),
        png=report("figures/fig2.png", caption="../report/fig2.rst", category="Figure 2"),
    params:
        log10_c=PUBLISHED["log10_c"],
    log:
        "results/logs/plot_fig2.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_fig2.py"


rule plot_fig3:
    input:
        table="results/tables/training.csv",
        published=published_input(),
    output:
        pdf=report("figures/fig3.pdf", caption="../report/fig3.rst", category="Figure 3"),
        png=report("figures/fig3.png", caption="../report/fig3.rst", category="Figure 3"),
    params:
        log10_c=PUBLISHED["log10_c"],
    log:
        "results/logs/plot_fig3.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_fig3.py"
