"""The as-published evidence from the compact tables of several runs (reproduction.evidence)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from efficient_synapses.config import resolve_config
from efficient_synapses.data.published import fig23_table
from efficient_synapses.reproduction.evidence import (
    _product_span,
    _spans,
    accuracy_as_c_shift,
    collect,
    crossings,
    report,
)
from efficient_synapses.reproduction.paper_runs import PUBLISHED_GRID


def _network_rows(published, rho, noise, log10_cs, seeds, shift=0.0):
    g = published[(published["rho"] == rho) & (published["noise"] == noise)].sort_values("c")
    rows = []
    for lc in log10_cs:
        accuracy = float(np.interp(lc - shift, g["log10_c"], g["test_accuracy_sampled"]))
        sigma = float(np.interp(lc, g["log10_c"], g["sigma_rms"]))
        for seed in seeds:
            rows.append({"noise": noise, "rho": rho, "rho_value": float(eval(rho)), "c": 10.0**lc,
                         "seed": seed, "test_accuracy_sampled": accuracy + 0.002 * seed,
                         "sigma_rms": sigma, "reliability_cost_s1": 1.0 / sigma,
                         "diverged": False})  # fmt: skip
    return rows


@pytest.fixture
def runs(tmp_path, mirror):
    published = fig23_table(mirror / "published", PUBLISHED_GRID)
    a = _network_rows(published, "2", "heterogeneous", [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], [0])
    a += _network_rows(published, "2", "homogeneous", [-2.5, -2.0, -1.5, -1.0, -0.5], [0])
    seeds = _network_rows(published, "2", "heterogeneous", [-1.0, 1.0], [1, 2])
    for name, rows in (("as-published-fig2-a", a), ("as-published-seeds", seeds)):
        (tmp_path / name).mkdir()
        pd.DataFrame(rows).to_csv(tmp_path / name / "training.csv", index=False)
    at = published[(published["rho"] == "2") & (published["noise"] == "heterogeneous")]
    column = at[np.isclose(at["log10_c"], 0.0)].iloc[0]
    history = [
        {"variant": "as_published", "noise": "heterogeneous", "rho": "2", "rho_value": 2.0,
         "c": 1.0, "seed": 0, "epoch": e,
         "test_accuracy_sampled": column["test_accuracy_sampled"] + 0.001 * (e - 50),
         "sigma_rms": column["sigma_rms"]}
        for e in range(1, 61)
    ]  # fmt: skip
    (tmp_path / "lr-epochs-1e-4").mkdir()
    pd.DataFrame(history).to_csv(tmp_path / "lr-epochs-1e-4" / "training_history.csv", index=False)
    return tmp_path


def test_report_of_runs_that_follow_the_published_curves(runs, mirror, project_root):
    config = resolve_config(yaml.safe_load((project_root / "config.yaml").read_text()))
    out = report(runs, mirror / "published", config)
    assert (out / "fig2-paper-settings.png").is_file()
    assert (out / "lr-epochs.png").is_file()
    assert (out / "fig3-paper-settings.png").is_file()
    table = pd.read_csv(out / "reproduction.csv")
    accuracy = table[table["quantity"] == "test accuracy (%)"]
    assert (accuracy["verdict"] == "reproduced").all()  # the curves themselves
    assert accuracy["n_seeds"].max() == 3  # seeds 1 and 2 joined seed 0 at two columns
    crossing = pd.read_csv(out / "crossings.csv", dtype={"rho": str}).set_index(["rho", "noise"])
    het = crossing.loc[("2", "heterogeneous")]
    assert abs(het["difference_90"]) < 0.1 and abs(het["difference_50"]) < 0.1
    lr = pd.read_csv(out / "lr_epochs.csv", dtype={"learning_rate": str})
    assert lr["learning_rate"].tolist() == ["1e-4"]
    # the published accuracy of ρ = 2, c = 1 is 82.2 %: within 1 point from epoch 41 to 59
    assert lr["both_at_50"].tolist() == [True]
    first, last = (float(v) for v in lr["lr_x_epochs_both"].iloc[0].split(" – "))
    assert first <= 5e-3 <= last  # 1e-4 times epochs around 50
    claims = pd.read_csv(out / "claims.csv")
    missing = claims[claims["verdict"] == "not evaluable on this run"]
    assert len(missing) >= 6 and "pass" not in set(missing["verdict"])
    assert "Claims at paper settings" in (out / "SUMMARY.md").read_text()


def test_crossings_of_a_curve_shifted_by_half_a_decade(mirror):
    published = fig23_table(mirror / "published", PUBLISHED_GRID)
    columns = np.arange(-2.5, 2.01, 0.5)
    shifted = pd.DataFrame(_network_rows(published, "2", "heterogeneous", columns, [0], 0.5))
    row = crossings(shifted, published).iloc[0]
    assert row["difference_90"] == pytest.approx(0.5, abs=0.1)
    assert row["difference_50"] == pytest.approx(0.5, abs=0.1)
    # our first column already below 90 %: no crossing, not a number
    low = shifted[shifted["c"] > 10**-0.4]
    assert math.isnan(crossings(low, published).iloc[0]["ours_90"])


def test_epoch_spans():
    assert _spans([3, 4, 5, 9, 11, 12]) == "3-5, 9, 11-12"
    assert _spans([]) == "none"
    assert _product_span(5e-4, [15, 16, 18]) == "7.5e-3 – 9e-3"
    assert _product_span(1e-4, []) == "none"


def test_collect_copies_compact_tables_and_never_parameters(tmp_path):
    run = tmp_path / "run"
    (run / "results" / "tables").mkdir(parents=True)
    (run / "results" / "train" / "seed0").mkdir(parents=True)
    (run / "figures").mkdir()
    (run / "results" / "tables" / "training.csv").write_text("c\n1\n")
    (run / "results" / "reproduction.md").write_text("# table\n")
    (run / "results" / "train" / "seed0" / "params.pt").write_bytes(b"weights")
    (run / "results" / "train" / "seed0" / "checkpoint.pt").write_bytes(b"state")
    (run / "figures" / "fig2.png").write_bytes(b"png")
    target = collect(run, "my-run", tmp_path / "docs", "abc1234", "2026-12-07T07:00:00+00:00",
                     "2026-12-07T08:30:00+00:00", redrawn_at="def5678")  # fmt: skip
    assert sorted(p.name for p in target.iterdir()) == [
        "RUN.md", "fig2.png", "reproduction.md", "training.csv"
    ]  # fmt: skip
    text = (target / "RUN.md").read_text()
    assert "commit abc1234" in text and "1.50 h" in text and "def5678" in text
    plain = collect(run, "plain", tmp_path / "docs", "abc1234", "2026-12-07T07:00:00+00:00",
                    "2026-12-07T07:30:00+00:00")  # fmt: skip
    assert "redrawn" not in (plain / "RUN.md").read_text()


def test_accuracy_read_as_a_shift_along_c(mirror):
    published = fig23_table(mirror / "published", PUBLISHED_GRID)
    columns = np.arange(-1.0, 1.51, 0.5)
    shifted = pd.DataFrame(_network_rows(published, "2", "heterogeneous", columns, [0], 0.1))
    table = accuracy_as_c_shift(shifted, published)
    # a curve 0.1 decade to the right: each network has the accuracy the published curve
    # has 0.1 decade to its left; only networks on the fall (15-95 %) are listed
    assert len(table) >= 3
    assert table["shift_decades"].to_numpy() == pytest.approx(-0.1, abs=0.02)
    assert table["ours"].between(15, 95).all()


def test_fig7_summary_over_seeds_of_several_runs():
    """Seeds from two runs meet: per ρ the centre-c slope's mean and sd over seeds, the
    Spearman range over every network, and 2/(ρ+2); other comparisons are ignored."""
    from efficient_synapses.reproduction.evidence import fig7_summary

    rows = []
    for seed, slope in ((0, 0.6), (1, 0.7), (2, 0.8)):
        for factor, r in ((0.56, 0.80), (1.0, 0.85), (1.78, 0.90)):
            network = {"rho": "2", "seed": seed, "c_factor": factor}
            rows.append(network | {"comparison": "trained_vs_vi", "slope": slope,
                                   "rma_slope": slope + 0.1, "spearman_r": r})  # fmt: skip
            rows.append(network | {"comparison": "eq29_vs_laplace", "slope": 0.5,
                                   "rma_slope": 0.5, "spearman_r": 1.0})  # fmt: skip
    row = fig7_summary(pd.DataFrame(rows)).iloc[0]
    assert row["seeds"] == 3 and row["networks"] == 9
    assert row["slope_centre_mean"] == pytest.approx(0.7)
    assert row["slope_centre_sd"] == pytest.approx(0.1)
    assert row["rma_slope_centre_mean"] == pytest.approx(0.8)
    assert (row["spearman_min"], row["spearman_max"]) == (0.80, 0.90)
    assert row["eq54c_slope"] == pytest.approx(0.5)
