# Signatures of Bayesian inference emerge from energy-efficient synapses
# (Malkin, O'Donnell, Houghton & Aitchison, eLife 2024), as a workflow.
#
#   data -> train (one job per noise, rho, c, seed) -> synapse statistics
#   -> variational posterior -> experimental data -> tables -> figures -> claims
#   -> reproduction (ours beside the authors' published data)
#
# Run `snakemake --cores all` for the paper settings (config.yaml), or
# `snakemake --profile profiles/quick` for a reduced run on a laptop CPU.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/curvature.smk"
include: "workflow/rules/posterior.smk"
include: "workflow/rules/experimental.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/reproduction.smk"
include: "workflow/rules/paper_settings.smk"
include: "workflow/rules/benchmark.smk"

rule all:
    default_target: True
    input:
        all_targets(),
