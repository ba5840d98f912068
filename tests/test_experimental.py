"""Figure 6 data: parsing the published CSVs as they are, validation reports, statistics."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import MIRROR
from scipy import stats

from efficient_synapses.data.experimental_csv import (
    EXPECTED_ROWS,
    HeaderError,
    exclusions_frame,
    parse_experimental_csv,
)
from efficient_synapses.data.raw import EXPERIMENTAL_FILES
from efficient_synapses.experimental.analysis import analyse_figure6
from efficient_synapses.statistics import line_fit


@pytest.fixture(scope="session")
def experimental_dir():
    folder = MIRROR / "experimental"
    missing = [
        f.local_name for f in EXPERIMENTAL_FILES.values() if not (folder / f.local_name).exists()
    ]
    if missing:
        pytest.skip(
            f"Figure 6 CSVs {missing} not found in {folder} (set EFFICIENT_SYNAPSES_MIRROR)"
        )
    return folder


@pytest.fixture(scope="session")
def parsed(experimental_dir):
    return {
        key: parse_experimental_csv(experimental_dir / f.local_name, key)
        for key, f in EXPERIMENTAL_FILES.items()
    }


def _copy(experimental_dir, tmp_path, key):
    target = tmp_path / EXPERIMENTAL_FILES[key].local_name
    shutil.copy(experimental_dir / EXPERIMENTAL_FILES[key].local_name, target)
    return target


def _edit_line(path, line_number, edit):
    """Apply ``edit`` to one physical line (1-based), keeping the file's bytes otherwise."""
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = edit(lines[line_number - 1])
    path.write_bytes(b"\n".join(lines))


def test_published_files_parse_completely(parsed):
    for key, table in parsed.items():
        assert len(table.rows) == EXPECTED_ROWS[key], key
        assert table.excluded == [], key
    assert EXPECTED_ROWS == {"sjostrom2001_ltp": 30, "sjostrom2001_ltd": 14, "ko2013": 136}


def test_quirks_are_handled(parsed):
    ltp, ltd, ko = parsed["sjostrom2001_ltp"], parsed["sjostrom2001_ltd"], parsed["ko2013"]
    # Byte-order mark gone, names unquoted, the trailing header comma adds no column.
    assert ltp.header[0] == "Recording"
    assert ko.header == ["mean", "var", "foopsi_mean", "foopsi_threshold"]
    # The LTD file's repeated names are kept apart, not overwritten.
    assert ltd.header[-2:] == ["w (before) #2", "w (after) #2"]
    assert ltd.rows["w (before)"].between(0.01, 1).all()
    # Single-quoted recording names with leading spaces are read bare.
    assert ltp.rows["Recording"].iloc[0] == "EPSP_Sat_Sep_9_2000_5_to_6"
    assert ltp.rows["line"].tolist() == list(range(2, 32))
    assert ltp.rows["Pr (before)"].iloc[0] == pytest.approx(0.32032)
    assert ko.rows["var"].iloc[0] == pytest.approx(0.23319)


def test_out_of_range_probability_is_reported(experimental_dir, tmp_path):
    path = _copy(experimental_dir, tmp_path, "sjostrom2001_ltp")
    # Line 5: Pr (before) 0.47234 -> 1.47234 (still a number, outside [0, 1]).
    _edit_line(path, 5, lambda b: b.replace(b",0.47234,", b",1.47234,"))
    table = parse_experimental_csv(path, "sjostrom2001_ltp")
    assert len(table.rows) == 29
    (excluded,) = table.excluded
    assert (excluded.file, excluded.line) == (path.name, 5)
    assert "Pr (before)" in excluded.reason and "[0, 1]" in excluded.reason
    frame = exclusions_frame(table.excluded)
    assert frame.columns.tolist() == ["file", "line", "reason"]
    assert frame["line"].tolist() == [5]


def test_non_numeric_and_non_positive_values_are_reported(experimental_dir, tmp_path):
    path = _copy(experimental_dir, tmp_path, "ko2013")
    _edit_line(path, 2, lambda b: b.replace(b"0.23319", b"-0.23319"))  # negative variance
    _edit_line(path, 3, lambda b: b.replace(b"0.0031139", b"n/a"))  # rate not a number
    table = parse_experimental_csv(path, "ko2013")
    assert len(table.rows) == 134
    reasons = {e.line: e.reason for e in table.excluded}
    assert set(reasons) == {2, 3}
    assert "'var'" in reasons[2] and "positive" in reasons[2]
    assert "'foopsi_mean'" in reasons[3] and "not a number" in reasons[3]


def test_inconsistent_weight_change_is_reported(experimental_dir, tmp_path):
    path = _copy(experimental_dir, tmp_path, "sjostrom2001_ltd")
    # w (after) of the first LTD row, changed without updating dw_rel.
    _edit_line(path, 2, lambda b: b.replace(b",0.039153132,", b",0.045153132,"))
    table = parse_experimental_csv(path, "sjostrom2001_ltd")
    assert [e.line for e in table.excluded] == [2]
    assert "dw_rel" in table.excluded[0].reason


def test_truncated_line_is_reported(experimental_dir, tmp_path):
    path = _copy(experimental_dir, tmp_path, "sjostrom2001_ltp")
    _edit_line(path, 10, lambda b: b[: len(b) // 2])
    table = parse_experimental_csv(path, "sjostrom2001_ltp")
    assert len(table.rows) == 29
    (excluded,) = table.excluded
    assert excluded.line == 10 and "fields, expected 15" in excluded.reason


def test_missing_column_fails_naming_it(experimental_dir, tmp_path):
    path = _copy(experimental_dir, tmp_path, "ko2013")
    _edit_line(path, 1, lambda b: b.replace(b'"var"', b'"variance"'))
    with pytest.raises(HeaderError, match=r"\['var'\]"):
        parse_experimental_csv(path, "ko2013")
    path = _copy(experimental_dir, tmp_path, "sjostrom2001_ltp")
    _edit_line(path, 1, lambda b: b.replace(b"Pr (before),", b""))
    with pytest.raises(HeaderError, match=r"Pr \(before\)"):
        parse_experimental_csv(path, "sjostrom2001_ltp")


def test_empty_exclusion_table_has_a_header():
    frame = exclusions_frame([])
    assert frame.empty and frame.columns.tolist() == ["file", "line", "reason"]


def test_power_law_slope_is_recovered():
    rate = np.geomspace(1e-3, 6e-3, 40)
    variability = 3.0 * rate**-0.62
    slope, _ = line_fit(np.log10(rate), np.log10(variability))
    assert slope == pytest.approx(-0.62)


def test_figure6_statistics(parsed):
    table, arrays = analyse_figure6(parsed, resamples=2000, seed=2024, paper_slope=0.62)
    intervals = table.dropna(subset=["ci_low"])
    assert len(intervals) > 0
    assert (
        (intervals["ci_low"] <= intervals["value"]) & (intervals["value"] <= intervals["ci_high"])
    ).all()
    ltp = table[table["dataset"] == "sjostrom2001_ltp"].set_index("quantity")["value"]
    # Higher release probability, smaller LTP (Schug et al. 2021; Fig. 6a).
    assert ltp["pearson_r"] < 0 and ltp["spearman_r"] < 0
    x, y = arrays["sjostrom2001_ltp_x"], arrays["sjostrom2001_ltp_y"]
    assert ltp["pearson_r"] == pytest.approx(stats.pearsonr(x, y).statistic)
    ko = table[table["dataset"] == "ko2013"].set_index("quantity")["value"]
    for name in ("sd/mean", "var/mean", "var/mean^2", "var"):
        assert f"loglog_slope[{name}]" in ko.index
    # CV is sd/mean, CV² is var/mean²: the log-log slopes differ by exactly a factor 2.
    assert ko["loglog_slope[var/mean^2]"] == pytest.approx(2 * ko["loglog_slope[sd/mean]"])
    assert ko["loglog_slope[sd/mean]"] < 0
    assert ltp["spearman_r"] == pytest.approx(stats.spearmanr(x, y).statistic)


def test_closest_normalisation_is_judged_against_the_given_paper_slope(parsed):
    def closest(paper_slope):
        table, _ = analyse_figure6(parsed, resamples=200, seed=0, paper_slope=paper_slope)
        row = table[table["quantity"] == "normalisation_closest_to_paper"].iloc[0]
        return row["notes"].split(":")[0], row["method"]

    # |slope| of var/mean² is twice that of sd/mean (CV² against CV): 2.0 picks another.
    assert closest(0.62) == ("sd/mean", "min | |slope| - 0.62 |")
    assert closest(2.0)[0] != "sd/mean"
