# Figure 7 (optimised noise against the posterior, from each trained network's own
# statistics), its empirical check (a variational posterior fitted from each network's
# means), Appendix 4 figure 1 (toy regression), Appendix 5 figure 1 (no hidden layer) and
# the bound C_BI >= C_VI (Appendix 4, Eq. 41-53).
#
#   train_network / train_group (Fig. 7 networks) ─┬► extract_statistics_group (curvature.smk) ─┬► compare_posterior ► plot_fig7
#                                                  └► fit_posterior_fig7 (one group/seed) ───────┘
#   train_nohidden_group (one per seed) ► extract_statistics_nohidden_group (curvature.smk) ┬► analyse_nohidden ► plot_figA5_1
#   fit_posterior (nohidden) ──────────────────────────────────────────────────┘
#   fit_toy_regression ► plot_figA4_1;   trained networks ► tabulate_bound
#
# Paths (in addition to the scheme in common.smk):
#   results/posterior/nohidden/seed{seed}/posterior.pt, metrics.json
#   results/posterior/fig7/seed{seed}/rho{rho}/c{c}/posterior.pt, metrics.json   the
#       variational posterior started from the means of that Fig. 7 network
#   results/nohidden/train/..., results/nohidden/curvature/...       as results/train, results/curvature
#   results/posterior/fig7.npz, results/tables/posterior_slopes.csv
#   results/nohidden/figA5_1.npz, results/tables/nohidden_slopes.csv
#   results/toy/figA4_1.npz, results/tables/toy_regression.csv
#   results/tables/elbo_bound.csv

FIG7_POSTERIOR_DIR = "results/posterior/fig7/seed{seed}/rho{rho}/c{c}"
# The settings of `posterior` that a fit uses (plotting settings do not re-run it).
POSTERIOR_FIT = {key: POSTERIOR[key] for key in ("prior", "gaussian_prior_sd")}
# Every seed has the same Fig. 7 networks (ρ, c), in the order of FIG7_NETWORKS.
FIG7_PER_SEED = [n["wildcards"] for n in FIG7_NETWORKS if n["seed"] == SEEDS[0]]
# Every seed has the same networks with no hidden layer (noise, ρ, c).
NOHIDDEN_PER_SEED = networks_per_seed(NOHIDDEN_NETWORKS)


rule fit_posterior:
    input:
        mnist=rules.download_mnist.output,
    output:
        posterior=f"{POSTERIOR_DIR}/posterior.pt",
        metrics=f"{POSTERIOR_DIR}/metrics.json",
    params:
        training=lambda wildcards: TRAINING_PARAMS | {"layer_sizes": ARCHITECTURES[wildcards.arch]},
        posterior=POSTERIOR_FIT,
    log:
        "results/logs/fit_posterior/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/fit_posterior/{arch}/seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=lambda wildcards, attempt: 120 * attempt,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/fit_posterior.py"


# One vectorised group per seed: every Fig. 7 network of that seed, each posterior
# starting from that network's μ (so that its synapse i is the network's synapse i).
rule fit_posterior_fig7:
    input:
        start_from=lambda wildcards: [
            f"{TRAIN_DIR}/params.pt".format(**w | {"seed": wildcards.seed}) for w in FIG7_PER_SEED
        ],
        mnist=rules.download_mnist.output,
    output:
        posterior=[
            f"{FIG7_POSTERIOR_DIR}/posterior.pt".format(seed="{seed}", rho=w["rho"], c=w["c"])
            for w in FIG7_PER_SEED
        ],
        metrics=[
            f"{FIG7_POSTERIOR_DIR}/metrics.json".format(seed="{seed}", rho=w["rho"], c=w["c"])
            for w in FIG7_PER_SEED
        ],
    params:
        training=TRAINING_PARAMS,
        posterior=POSTERIOR_FIT,
    log:
        "results/logs/fit_posterior_fig7/seed{seed}.log",
    benchmark:
        "results/benchmarks/fit_posterior_fig7/seed{seed}.tsv"
    threads: 1
    # Ahead of the sweep's remaining training groups (see extract_statistics_group).
    priority: 10
    resources:
        mem_mb=4000,
        runtime=lambda wildcards, attempt: 240 * attempt,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/fit_posterior.py"


rule compare_posterior:
    input:
        statistics=[f"{CURVATURE_DIR}/statistics.npz".format(**n["wildcards"]) for n in FIG7_NETWORKS],
        metrics=[f"{TRAIN_DIR}/metrics.json".format(**n["wildcards"]) for n in FIG7_NETWORKS],
        posterior=[
            f"{FIG7_POSTERIOR_DIR}/posterior.pt".format(**n["wildcards"]) for n in FIG7_NETWORKS
        ],
        fit_metrics=[
            f"{FIG7_POSTERIOR_DIR}/metrics.json".format(**n["wildcards"]) for n in FIG7_NETWORKS
        ],
    output:
        arrays="results/posterior/fig7.npz",
        table=report(
            "results/tables/posterior_slopes.csv", caption="../report/table_posterior_slopes.rst", category="Tables"
        ),
    params:
        networks=[table_columns(n) for n in FIG7_NETWORKS],
        layer=POSTERIOR["layer"],
        gradient=CURVATURE["fisher_gradient"],
        scatter_points=POSTERIOR["scatter_points"],
        scatter_seed=POSTERIOR["scatter_seed"],
        bootstrap_resamples=config["claims"]["bootstrap_resamples"],
        bootstrap_seed=config["claims"]["bootstrap_seed"],
    log:
        "results/logs/compare_posterior.log",
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/compare_posterior.py"


# The networks with no hidden layer of one seed (one per ρ), trained together in one
# process: each trains in seconds, so separate jobs would mostly pay start-up.
if NOHIDDEN_PER_SEED:

    use rule train_network as train_nohidden_group with:
        output:
            params=per_seed_paths(f"{NOHIDDEN_TRAIN_DIR}/params.pt", NOHIDDEN_PER_SEED),
            metrics=per_seed_paths(f"{NOHIDDEN_TRAIN_DIR}/metrics.json", NOHIDDEN_PER_SEED),
        params:
            training=TRAINING_PARAMS | {"layer_sizes": ARCHITECTURES["nohidden"]},
            members=lambda wildcards: [m | {"seed": wildcards.seed} for m in NOHIDDEN_PER_SEED],
        log:
            "results/logs/train_nohidden_group/seed{seed}.log",
        benchmark:
            "results/benchmarks/train_nohidden_group/seed{seed}.tsv"
        resources:
            mem_mb=lambda wildcards, attempt: training_mem_mb(len(NOHIDDEN_PER_SEED), attempt),
            runtime=lambda wildcards, attempt: 60 * attempt,


rule analyse_nohidden:
    input:
        statistics=[
            f"{NOHIDDEN_CURVATURE_DIR}/statistics.npz".format(**n["wildcards"])
            for n in NOHIDDEN_NETWORKS
        ],
        posterior=expand(f"{POSTERIOR_DIR}/posterior.pt", arch="nohidden", seed=SEEDS),
    output:
        arrays="results/nohidden/figA5_1.npz",
        table=report(
            "results/tables/nohidden_slopes.csv", caption="../report/table_nohidden_slopes.rst", category="Tables"
        ),
    params:
        networks=[table_columns(n) for n in NOHIDDEN_NETWORKS],
        seeds=SEEDS,
        gradient=CURVATURE["fisher_gradient"],
        learning_rate=CURVATURE["learning_rate_form"],
        scatter_points=POSTERIOR["scatter_points"],
        scatter_seed=POSTERIOR["scatter_seed"],
    log:
        "results/logs/analyse_nohidden.log",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/analyse_nohidden.py"


rule fit_toy_regression:
    output:
        arrays="results/toy/figA4_1.npz",
        table=report(
            "results/tables/toy_regression.csv", caption="../report/table_toy_regression.rst", category="Tables"
        ),
    params:
        settings=config["toy_regression"],
        rho=config["sweep"]["rho"],
        prior=POSTERIOR["prior"],
        prior_scale=prior_scale(config["training"], POSTERIOR),
        magnitude_lambda=config["training"]["magnitude_lambda"],
    log:
        "results/logs/fit_toy_regression.log",
    benchmark:
        "results/benchmarks/fit_toy_regression.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wildcards, attempt: 30 * attempt,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/fit_toy_regression.py"


rule tabulate_bound:
    input:
        [n["params_path"] for n in BOUND_NETWORKS],
    output:
        report(
            "results/tables/elbo_bound.csv", caption="../report/table_elbo_bound.rst", category="Tables"
        ),
    params:
        networks=[table_columns(n) | {"stage": n["stage"]} for n in BOUND_NETWORKS],
    log:
        "results/logs/tabulate_bound.log",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/pytorch.yaml"
    script:
        "../scripts/tabulate_bound.py"


rule plot_fig7:
    input:
        arrays="results/posterior/fig7.npz",
        table="results/tables/posterior_slopes.csv",
    output:
        pdf=report(figure_files("fig7")[0], caption="../report/fig7.rst", category="Figure 7"),
        png=report(figure_files("fig7")[1], caption="../report/fig7.rst", category="Figure 7"),
    log:
        "results/logs/plot_fig7.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_fig7.py"


rule plot_figA5_1:
    input:
        arrays="results/nohidden/figA5_1.npz",
        table="results/tables/nohidden_slopes.csv",
        experimental="results/experimental/fig6_statistics.csv",
    output:
        pdf=report(
            figure_files("figA5_1")[0], caption="../report/figA5_1.rst", category="Appendix 5"
        ),
        png=report(
            figure_files("figA5_1")[1], caption="../report/figA5_1.rst", category="Appendix 5"
        ),
    log:
        "results/logs/plot_figA5_1.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_figA5_1.py"


rule plot_figA4_1:
    input:
        "results/toy/figA4_1.npz",
    output:
        pdf=report(
            figure_files("figA4_1")[0], caption="../report/figA4_1.rst", category="Appendix 4"
        ),
        png=report(
            figure_files("figA4_1")[1], caption="../report/figA4_1.rst", category="Appendix 4"
        ),
    log:
        "results/logs/plot_figA4_1.log",
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_figA4_1.py"
