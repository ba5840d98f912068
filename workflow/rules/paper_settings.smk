# Per-epoch history of the Figure 2/3 networks (RMS σ every epoch, test accuracy every
# training.history_test_every epochs) and the per-network table of a paper-settings
# slice: accuracy, σ, epochs to convergence, equilibrium or in transit, overall cost
# against the trivial chance-level network (efficient_synapses.reproduction.histories).


rule tabulate_training_history:
    input:
        sweep_metrics(),
    output:
        report(
            "results/tables/training_history.csv",
            caption="../report/table_training_history.rst",
            category="Tables",
        ),
    log:
        "results/logs/tabulate_training_history.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/tabulate_training_history.py"


rule plot_training_history:
    input:
        "results/tables/training_history.csv",
    output:
        pdf=report(
            "figures/training_history.pdf",
            caption="../report/training_history.rst",
            category="Paper settings",
        ),
        png=report(
            "figures/training_history.png",
            caption="../report/training_history.rst",
            category="Paper settings",
        ),
    log:
        "results/logs/plot_training_history.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_training_history.py"


# Silent units and the live / silent-touching RMS σ per recorded epoch (efficient_synapses.training.drift).
rule plot_drift:
    input:
        "results/tables/training_history.csv",
    output:
        pdf=report(
            "figures/drift.pdf", caption="../report/drift.rst", category="Paper settings"
        ),
        png=report(
            "figures/drift.png", caption="../report/drift.rst", category="Paper settings"
        ),
    log:
        "results/logs/plot_drift.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_drift.py"


rule tabulate_paper_slice:
    input:
        sweep_metrics(),
    output:
        report(
            "results/tables/paper_slice.csv",
            caption="../report/table_paper_slice.rst",
            category="Tables",
        ),
    log:
        "results/logs/tabulate_paper_slice.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/tabulate_paper_slice.py"
