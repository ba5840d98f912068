"""The paper-settings runs: which networks they train, chosen from the published arrays."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from efficient_synapses.data.published import fig23_table
from efficient_synapses.reproduction.paper_runs import (
    PUBLISHED_GRID,
    crossing_columns,
    published_crossings,
    sweep_entries,
    transition_columns,
)


def _curve(rho, noise, accuracies):
    return pd.DataFrame(
        {"rho": rho, "noise": noise, "log10_c": [-1.0 + 0.25 * j for j in range(len(accuracies))],
         "test_accuracy_sampled": accuracies}
    )  # fmt: skip


def test_transition_columns_take_every_other_column_between_15_and_95_percent():
    # columns -1, -0.75, ..., 1.25: every other one is -1, -0.5, 0, 0.5, 1.0
    curve = _curve("2", "heterogeneous", [0.97, 0.96, 0.95, 0.9, 0.7, 0.5, 0.3, 0.15, 0.12, 0.1])
    other = _curve("2", "homogeneous", [0.5] * 10)
    columns = transition_columns(pd.concat([curve, other]))
    # -1: 0.97 (out), -0.5: 0.95 (in, inclusive), 0: 0.7, 0.5: 0.3, 1.0: 0.12 (out)
    assert columns[("2", "heterogeneous")] == [-0.5, 0.0, 0.5]
    assert columns[("2", "homogeneous")] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert columns[("1/2", "heterogeneous")] == []  # a curve not in the table: none


def test_crossing_columns_are_the_nearest_to_90_and_50_percent():
    curve = _curve("2", "heterogeneous", [0.97, 0.96, 0.95, 0.9, 0.7, 0.5, 0.3, 0.15, 0.12, 0.1])
    columns = {("2", "heterogeneous"): [-0.5, 0.0, 0.5]}
    # 90 % at -0.25 exactly (between -0.5 and 0, a tie: the smaller c); 50 % at 0.25 (a tie)
    assert crossing_columns(curve, columns) == {("2", "heterogeneous"): [-0.5, 0.0]}
    entries = sweep_entries({("2", "heterogeneous"): [-0.5, 0.0]}, [1, 2])
    assert entries == [
        {"rho": "2", "noise": "heterogeneous", "log10_c": [-0.5, 0.0], "seeds": [1, 2]}
    ]


def _profile_networks(project_root, *names):
    entries = []
    for name in names:
        path = project_root / "profiles" / "experiments" / name / "overrides.yaml"
        entries += yaml.safe_load(path.read_text())["sweep"]["networks"]
    return {(e["rho"], e["noise"]): (sorted(e["log10_c"]), sorted(e["seeds"])) for e in entries}


def test_the_as_published_profiles_hold_what_the_published_arrays_select(project_root, mirror):
    published = fig23_table(mirror / "published", PUBLISHED_GRID)
    transitions = transition_columns(published)
    assert sum(len(v) for v in transitions.values()) == 39
    assert _profile_networks(project_root, "as-published-fig2-a", "as-published-fig2-b") == {
        key: (values, [0]) for key, values in transitions.items()
    }
    crossings = crossing_columns(published, transitions)
    assert _profile_networks(project_root, "as-published-seeds") == {
        key: (values, [1, 2]) for key, values in crossings.items()
    }
    # every seed-spread column is a transition column (seed 0 of it is trained there)
    assert all(set(crossings[key]) <= set(transitions[key]) for key in crossings)


def test_published_crossings_by_hand(mirror):
    published = fig23_table(mirror / "published", PUBLISHED_GRID)
    table = published_crossings(published).set_index(["rho", "noise"])
    # ρ = 2 homogeneous: 91.0 % at 10^-2, 89.2 % at 10^-1.75 -> 90 % at -2 + 0.25 x 1.0/1.8
    row = table.loc[("2", "homogeneous")]
    acc = published[(published["rho"] == "2") & (published["noise"] == "homogeneous")]
    a0 = float(acc[acc["log10_c"] == -2.0]["test_accuracy_sampled"].iloc[0])
    a1 = float(acc[acc["log10_c"] == -1.75]["test_accuracy_sampled"].iloc[0])
    assert row["log10_c_90"] == pytest.approx(-2.0 + 0.25 * (a0 - 0.9) / (a0 - a1))
    assert -2.0 < row["log10_c_90"] < -1.75
