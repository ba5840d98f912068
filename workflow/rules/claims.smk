# The claims table, in three sections (efficient_synapses.claims): the claims of the paper
# (the sentence tested, the number measured, pass or FAIL against config `claims`), sanity
# checks (identities that hold by construction, never evidence) and reported comparisons
# (numbers the paper does not claim, beside the analytic value, no verdict).


rule tabulate_claims:
    input:
        training="results/tables/training.csv",
        curvature="results/tables/curvature.csv",
        fisher_vs_hessian="results/tables/fisher_vs_hessian.csv",
        experimental="results/tables/experimental.csv",
        posterior_slopes="results/tables/posterior_slopes.csv",
        nohidden_slopes="results/tables/nohidden_slopes.csv",
        elbo_bound="results/tables/elbo_bound.csv",
        toy_regression="results/tables/toy_regression.csv",
        training_history="results/tables/training_history.csv",
    output:
        csv=report("results/claims.csv", caption="../report/claims.rst", category="Claims"),
        md="results/claims.md",
    params:
        criteria=config["claims"],
        gradient=CURVATURE["fisher_gradient"],
    log:
        "results/logs/tabulate_claims.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/tabulate_claims.py"


# The configuration this run resolved (config.yaml plus profile overrides and --config),
# so that the report says exactly which settings produced its numbers.
rule record_configuration:
    output:
        report(
            "results/configuration.yaml",
            caption="../report/configuration.rst",
            category="Configuration",
        ),
    params:
        configuration=config,
    log:
        "results/logs/record_configuration.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/record_configuration.py"
