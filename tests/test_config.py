"""config.yaml: schema validation, consistency checks, and the sweep it schedules."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from efficient_synapses.config import ConfigError, c_grid, check_config, sweep_networks


@pytest.fixture
def config(project_root):
    return yaml.safe_load((project_root / "config.yaml").read_text())


@pytest.fixture
def schema(project_root):
    return str(project_root / "workflow" / "schemas" / "config.schema.yaml")


def test_paper_config_is_valid(config, schema):
    validate(config, schema)
    check_config(config)


def test_paper_c_grid_is_the_published_grid_1e_minus_4_to_1e3_25(config):
    grid = c_grid(config["sweep"]["log10_c"])
    assert len(grid) == 30
    assert grid[0] == pytest.approx(1e-4) and grid[-1] == pytest.approx(10**3.25)
    # every published column (published.log10_c) has its counterpart in the sweep
    published = config["published"]["log10_c"]
    columns = [published["start"] + published["step"] * j for j in range(published["count"])]
    assert [round(math.log10(c), 9) for c in grid] == pytest.approx(columns)


def test_sweep_has_every_combination(config):
    networks = sweep_networks(config)
    assert len(networks) == 4 * 30 * 2 * len(config["sweep"]["seeds"])
    assert {n["rho"] for n in networks} == {"1_2", "2_3", "4_3", "2"}


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("training", "epochs"), 0, "epochs"),
        (("training", "dtype"), "float16", "dtype"),
        (("sweep", "noise"), ["heterogenous"], "heterogenous"),
        (("sweep", "rho"), ["two"], "two"),
        (("training", "learning_rate"), -1.0, "learning_rate"),
        (("posterior", "prior"), "cauchy", "cauchy"),
        (("curvature", "fisher_gradient"), "per_example", "per_example"),
        (("experimental", "ko_normalisation"), "sd", "ko_normalisation"),
        (("claims", "slope_tolerance"), 0, "slope_tolerance"),
    ],
)
def test_invalid_value_is_named(config, schema, path, value, named):
    bad = copy.deepcopy(config)
    bad[path[0]][path[1]] = value
    with pytest.raises(WorkflowError, match=re.escape(named)):
        validate(bad, schema)


def test_unknown_key_is_named(config, schema):
    bad = copy.deepcopy(config)
    bad["training"]["epoch"] = 5
    with pytest.raises(WorkflowError, match="epoch"):
        validate(bad, schema)


def test_inconsistent_config_is_named(config):
    bad = copy.deepcopy(config)
    bad["training"]["layer_sizes"] = [784, 100, 7]
    with pytest.raises(ConfigError, match="layer_sizes"):
        check_config(bad)
    bad = copy.deepcopy(config)
    bad["sweep"]["log10_c"] = {"start": 2, "stop": 1, "step": 0.5}
    with pytest.raises(ConfigError, match="log10_c"):
        check_config(bad)
    bad = copy.deepcopy(config)
    bad["training"]["magnitude_lambda"] = 0.0  # the Laplace prior's scale 1/λ is then infinite
    with pytest.raises(ConfigError, match="magnitude_lambda"):
        check_config(bad)
    bad = copy.deepcopy(config)
    bad["posterior"]["layer"] = 4
    with pytest.raises(ConfigError, match="posterior.layer"):
        check_config(bad)
    bad = copy.deepcopy(config)
    bad["toy_regression"]["intervals"] = [[0.5, -0.5]]
    with pytest.raises(ConfigError, match="toy_regression.intervals"):
        check_config(bad)


def test_every_stage_lists_its_networks_once(config):
    from efficient_synapses.config import training_groups, training_networks

    networks = training_networks(config)
    keys = [tuple(sorted(n.items())) for n in networks]
    assert len(keys) == len(set(keys))
    # the networks whose statistics and fits follow come first, then the sweep
    sweep = sweep_networks(config)
    assert [n for n in networks if n in sweep] == sweep
    assert networks[-1] == sweep[-1] and networks[0] not in sweep
    grouped = dict(config, training=dict(config["training"], group_size=7))
    groups = training_groups(grouped)
    assert [n for g in groups for n in g] == networks and max(map(len, groups)) == 7


def _snakemake(project_root, *args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd or project_root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dry_run_of_paper_config_schedules_full_sweep(project_root, config):
    result = _snakemake(
        project_root,
        "-n",
        "--quiet",
        "rules",
        "--profile",
        "profiles/default",
        "--directory",
        str(project_root),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout + result.stderr, re.M))
    seeds = len(config["sweep"]["seeds"])
    sweep = 4 * 30 * 2 * seeds  # Figures 2 and 3: ρ x c x noise setting x seed
    # Figure 5 / Appendix 6 (3 c factors) and Figure 7 (3 c factors): 4 ρ each, not in the grid.
    others = (3 + 3) * 4 * seeds
    assert int(counts["train_network"]) == sweep + others
    assert len(sweep_networks(config)) == sweep
    # Statistics of the Figure 5 / Appendix 6 and the Figure 7 networks (Fig. 7 is drawn from them).
    # One job per seed computes them all in one process.
    assert int(counts["extract_statistics_group"]) == seeds
    assert int(counts["extract_statistics_nohidden_group"]) == seeds
    assert int(counts["fit_posterior"]) == seeds  # the network with no hidden layer
    assert int(counts["fit_posterior_fig7"]) == seeds  # one group per seed, from the trained μ
    assert int(counts["train_nohidden_group"]) == seeds  # its 4 networks (one per ρ) together


def test_bad_config_stops_the_workflow_with_the_key_named(project_root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  batch_size: zero\n")
    result = _snakemake(project_root, "-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "batch_size" in result.stderr + result.stdout


def _profile_configs():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "profiles").rglob("config.yaml")):
        files = yaml.safe_load(path.read_text()).get("configfile")
        if files:
            yield pytest.param(root, files, id=str(path.parent.relative_to(root / "profiles")))


@pytest.mark.parametrize(("root", "files"), list(_profile_configs()))
def test_every_profile_merges_into_a_valid_config(root, files, schema):
    """A profile's config files, merged as Snakemake merges them (later files update
    earlier ones key by key), pass the schema and the cross-key checks: a typo in a
    rarely run profile (a slice, a factor run) fails here, not an hour into a run."""
    from snakemake.utils import update_config

    files = [files] if isinstance(files, str) else files
    merged: dict = {}
    for name in files:
        path = root / name
        assert path.is_file(), f"{name}: named by a profile but missing"
        update_config(merged, yaml.safe_load(path.read_text()) or {})
    validate(merged, schema)
    check_config(merged)
