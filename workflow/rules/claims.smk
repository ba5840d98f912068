# The claims table: each claim of the paper, the number measured, pass or fail.


rule tabulate_claims:
    input:
        training="results/tables/training.csv",
    output:
        csv=report("results/claims.csv", caption="../report/claims.rst", category="Claims"),
        md="results/claims.md",
    params:
        criteria=config["claims"],
    log:
        "results/logs/tabulate_claims.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/tabulate_claims.py"
