"""The whole workflow, end to end, on the tiny preset (profiles/tiny) in a temporary copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.integration

COPIED = ["Snakefile", "config.yaml", "workflow", "profiles", "envs"]


def workflow_copy(project_root: Path, mirror: Path, target: Path) -> Path:
    for name in COPIED:
        src = project_root / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, target / name)
    config = yaml.safe_load((target / "config.yaml").read_text())
    config["data"]["mirror"] = str(mirror)
    (target / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


@pytest.fixture(scope="module")
def tiny_run(project_root, mirror, tmp_path_factory):
    workdir = workflow_copy(project_root, mirror, tmp_path_factory.mktemp("tiny"))
    # Every figure is checked as it is saved: a legend of more than a dozen entries, or a
    # text over another panel, stops its rule and so this run (figures.style.CHECK_ENV).
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/tiny"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "EFFICIENT_SYNAPSES_CHECK_FIGURES": "1"},
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return workdir


def test_training_table_is_complete_and_finite(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "tables" / "training.csv")
    assert len(table) == 2 * 2 * 2 * 1  # rho x c x noise x seed of profiles/tiny
    assert not table["diverged"].any() and table["diverged_epoch"].isna().all()
    # Empty by design: no divergence; own σ_i only in the released code's homogeneous
    # form; an RMS σ over an empty set (no silent unit, or no live one).
    may_be_empty = [
        "diverged_epoch",
        "sigma_rms_own",
        "sigma_rms_live",
        "sigma_rms_silent_touching",
    ]
    numeric = table.drop(columns=may_be_empty).select_dtypes("number")
    assert np.isfinite(numeric.to_numpy()).all()
    assert (
        table["n_weights_live"] + table["n_weights_silent_touching"]
        == 784 * 100 + 100 * 100 + 100 * 10
    ).all()
    assert set(table["noise"]) == {"heterogeneous", "homogeneous"}
    assert table["test_accuracy_sampled"].between(0, 1).all()


def test_every_job_wrote_metrics_and_a_progress_log(tiny_run):
    metrics = sorted((tiny_run / "results" / "train").rglob("metrics.json"))
    # Sweep (2 ρ x 2 c x 2 noise) + Figure 5 (2 ρ x 2 c factors) + Figure 7 (2 ρ x 2 factors).
    assert len(metrics) == 8 + 4 + 4
    m = json.loads(metrics[0].read_text())
    for key in (
        "test_accuracy_sampled",
        "test_accuracy_mean_weights",
        "sigma_rms",
        "reliability_cost_s1",
        "final_train_loss",
        "wall_seconds",
        "versions",
        "hyperparameters",
        "seed",
        "group",
        "diverged",
        "step_path",
    ):
        assert key in m
    assert not list((tiny_run / "results").rglob("checkpoint*.pt"))
    # profiles/tiny trains in groups of 4 (rule train_group): one log per group, lines
    # per network.
    logs = sorted((tiny_run / "results" / "logs" / "train_group").glob("*.log"))
    assert len(logs) == 4
    text = logs[0].read_text()
    assert "4 network(s)" in text
    assert text.count("epoch 1/1") == 4 and "ETA" in text and "train acc" in text
    # Every training and extraction job leaves a Snakemake benchmark (time, memory).
    benchmarks = sorted((tiny_run / "results" / "benchmarks").rglob("*.tsv"))
    assert {b.parent.name for b in benchmarks} >= {
        "train_group",
        "extract_statistics_group",
        "extract_statistics_nohidden_group",
        "fit_posterior_fig7",
    }
    header = benchmarks[0].read_text().splitlines()[0].split("\t")
    assert {"s", "max_rss"} <= set(header)


def test_group_outputs_are_the_networks_files(tiny_run):
    """Each network's canonical files are its group's files (hard links), and nothing of
    a group's resume checkpoint is left after a finished run."""
    groups = tiny_run / "results" / "train_groups"
    assert sorted(p.name for p in groups.glob("group*")) == [f"group{i}" for i in range(4)]
    in_groups = sorted(groups.glob("group*/*/rho*/c*/seed*/params.pt"))
    assert len(in_groups) == 16
    for path in in_groups:
        member = path.parent.relative_to(path.parents[4])
        for name in ("params.pt", "metrics.json"):
            canonical = tiny_run / "results" / "train" / member / name
            assert canonical.samefile(path.parent / name), canonical
    assert not any((groups / "resume").glob("*"))


def test_statistics_ran_one_job_per_seed(tiny_run):
    # Figure 5/A6 (2 ρ x 2 c factors) and Figure 7 (2 ρ x 2 factors) networks of seed 0
    # in one process; the two networks without hidden layer in another.
    logs = tiny_run / "results" / "logs"
    for rule, networks in (
        ("extract_statistics_group", 8),
        ("extract_statistics_nohidden_group", 2),
    ):
        text = (logs / rule / "seed0.log").read_text()
        assert text.count("done statistics") == networks, rule
    summaries = sorted((tiny_run / "results" / "curvature").rglob("summary.json"))
    assert len(summaries) == 8
    summary = json.loads(summaries[0].read_text())
    assert summary["wildcards"]["seed"] == "0" and summary["layers"][0]["synapses"] == 784 * 100


FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7"]
FIGURES += ["figA4_1", "figA5_1", "figA6_1", "figA6_2", "fig5_exact_hessian"]
FIGURES += ["drift", "fig5_published", "training_history"]


@pytest.mark.parametrize("name", FIGURES)
def test_figures_exist(tiny_run, name):
    for ext in ("pdf", "png"):
        path = tiny_run / "figures" / f"{name}.{ext}"
        assert path.is_file() and path.stat().st_size > 5000, path


def test_exact_hessian_table_compares_both_estimates_on_every_network(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "tables" / "exact_hessian.csv")
    per_network = table.groupby(["rho", "c_factor", "seed", "layer"])["estimate"].apply(set)
    assert (per_network == {"empirical_fisher", "exact_hessian"}).all()
    assert (table["n_used"] + table["n_excluded"] == table["n_synapses"]).all()


@pytest.mark.parametrize(
    "name",
    ["curvature", "fisher_vs_hessian", "posterior_slopes", "nohidden_slopes", "elbo_bound"],
)
def test_tables_hold_finite_numbers(tiny_run, name):
    table = pd.read_csv(tiny_run / "results" / "tables" / f"{name}.csv")
    assert len(table) > 0
    for column in ("slope", "spearman_r", "C_VI", "C_BI"):
        if column in table:
            assert np.isfinite(table[column]).all(), (name, column)


def test_posterior_fits_report_an_elbo_curve(tiny_run):
    # No hidden layer: one fit per seed; Fig. 7: one fit per network, from its means.
    paths = [tiny_run / "results/posterior/nohidden/seed0/metrics.json"]
    paths += sorted((tiny_run / "results/posterior/fig7/seed0").rglob("metrics.json"))
    assert len(paths) == 1 + 2 * 2  # + ρ x c factors of profiles/tiny
    for path in paths:
        m = json.loads(path.read_text())
        assert len(m["elbo_per_datapoint"]) == 1 and np.isfinite(m["elbo_per_datapoint"]).all()
        assert 0 <= m["test_accuracy_sampled"] <= 1


def test_claims_table_has_a_verdict_for_every_claim(tiny_run):
    claims = pd.read_csv(tiny_run / "results" / "claims.csv")
    expected = {
        "accuracy_falls_with_c",
        "sigma_rises_with_c",
        "heterogeneous_beats_homogeneous",
        "heterogeneous_reaches_accuracy_at_larger_c",
        "sigma_vs_hessian",
        "sigma_vs_learning_rate_abs",
        "sigma_vs_input_rate",
        "sigma_vs_hessian_other_c",
        "sigma_falls_with_exact_hessian",
        "learning_rate_falls_with_exact_hessian",
        "fisher_vs_exact_hessian",
        "importance_rises_with_input_rate",
        "heterogeneous_noise_only_slightly_lower",
        "heterogeneous_more_accurate_at_equal_sigma_rms",
        "heterogeneous_more_accurate_at_equal_reliability_cost_s1",
        "accuracy_falls_with_sigma",
        "accuracy_rises_with_reliability_cost",
        "biological_slope_nearest_rho_2",
        "toy_predictive_sd_larger_away_from_data",
        "toy_predictive_performance_worse_for_larger_rho",
        "sjostrom_ltp_pearson_r",
        "ko_slope_negative",
        "ko_slope_reproduced",
        "sigma_tracks_posterior",
        "posterior_slope_below_one",
        "posterior_slope_rises_as_rho_falls",
        "nohidden_posterior_variance_slope",
        "bound_holds",
        "bound_tightens_as_rho_falls",
        "learning_rate_mirrors_hessian",
        "fig7_analytic_slope",
        "fig7_slope_trained_vs_vi",
        "eq29_slope_vs_hessian",
    }
    assert expected <= set(claims["claim"])
    kinds = ["claim of the paper", "sanity check", "reported comparison"]
    assert list(dict.fromkeys(claims["kind"])) == kinds  # three sections, in this order
    paper = claims[claims["kind"] == "claim of the paper"]
    required = claims.drop(
        columns=["spread", "value", "reference", "quote", "evidence", "fails_if", "missing"]
    )
    assert not required.isna().any().any(), required[required.isna().any(axis=1)]
    # every claim of the paper names its evidence group and what would fail it
    assert paper["evidence"].notna().all() and paper["fails_if"].str.len().gt(10).all()
    assert (tiny_run / "results" / "claims.md").read_text().startswith("**")
    assert paper["quote"].str.len().gt(20).all()  # every claim quotes the paper
    # the tiny run trains every family, so no row may call itself not evaluable
    assert claims["missing"].isna().all(), claims[claims["missing"].notna()]
    # A quantity the run cannot measure (e.g. no accuracy crossing in one epoch on 400
    # images) is reported as undefined and the claim fails; it never passes unmeasured.
    assert (paper.loc[paper["value"].isna(), "verdict"] == "FAIL").all()
    assert set(paper["verdict"]) <= {"pass", "FAIL"}
    assert set(claims.loc[claims["kind"] == "sanity check", "verdict"]) == {"holds"}
    assert set(claims.loc[claims["kind"] == "reported comparison", "verdict"]) == {"no verdict"}
    assert (tiny_run / "results" / "claims.md").read_text().count("\n## ") == 3


def test_the_reproduction_table_compares_without_verdicts_on_a_reduced_preset(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "reproduction.csv")
    assert {"Figure 2a", "Figure 2b", "Figure 5", "Appendix 6 fig. 1"} <= set(table["section"])
    compared = table[table["kind"] == "compared"]
    assert (compared["verdict"] == "not comparable").all()
    assert compared["comparable"].str.startswith("no: epochs 1 (paper 50)").all()
    assert np.isfinite(compared["published"]).all()
    assert set(table.loc[table["kind"] == "reported", "verdict"]) == {"no verdict"}
    text = (tiny_run / "results" / "reproduction.md").read_text()
    assert "10^(-4 + 0.25 j)" in text and "| Figure 2a | no: epochs 1" in text
    # the published arrays were fetched from the mirror and verified
    log = (tiny_run / "results" / "logs" / "download_published.log").read_text()
    assert log.count("sha256 ok") == 52


def test_report_holds_every_figure_the_claims_and_the_configuration(tiny_run):
    report = tiny_run / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/tiny", "--report", str(report)],
        cwd=tiny_run,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ERROR" not in result.stderr, result.stderr[-3000:]  # e.g. broken caption markup
    html = report.read_text(errors="replace")
    for name in [
        *FIGURES,
        "claims.csv",
        "configuration.yaml",
        "elbo_bound.csv",
        "reproduction.csv",
    ]:
        assert name in html, name
    configuration = yaml.safe_load((tiny_run / "results" / "configuration.yaml").read_text())
    assert configuration["training"]["train_subset"] == 400  # the tiny preset's override
