"""The experimental data of Figure 6: parsing and validating the published CSVs.

Three CSVs, read exactly as the authors published them (see ``data.EXPERIMENTAL_FILES``):

* Sjöström et al. (2001) LTP and LTD recordings, quantal parameters by Costa et al.
  (2015) as tabulated by Schug et al. (2021): release probability ``Pr`` before and
  after plasticity, quantal size ``q``, weight ``w = Pr q`` and the changes.
  Fig. 6a: release probability before plasticity against the relative weight change.
* Ko et al. (2013) connections as used by Aitchison et al. (2021): EPSP ``mean`` and
  ``var`` and the presynaptic firing rate ``foopsi_mean`` inferred by fast-oopsi
  deconvolution. Fig. 6b: normalised EPSP variability against firing rate, log-log.

The files carry quirks that a naive ``pandas.read_csv`` mishandles or hides: a UTF-8
byte-order mark, CRLF line ends, leading spaces before every row, recording names in
single quotes, header names in double quotes after a space, a trailing comma in the
Ko header (an empty sixth name) and, in the LTD file, two trailing columns named
``w (before)`` and ``w (after)`` a second time. We parse line by line so that every
rejected row can be reported with its file and line number, never silently dropped.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# --- column schemas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One published column: its name, how to read it, and the range a valid value lies in."""

    name: str
    kind: str  # "text" or "number"
    check: Callable[[float], bool] | None = None
    rule: str = ""  # the range, in words, for the exclusion report


def _probability(name):
    return Column(name, "number", lambda x: 0.0 <= x <= 1.0, "a probability in [0, 1]")


def _positive(name, what="positive"):
    return Column(name, "number", lambda x: x > 0.0, what)


def _finite(name):
    return Column(name, "number", None, "a finite number")


def _text(name):
    return Column(name, "text")


# The Sjöström columns; both files hold all of them (in a different order).
_SJOSTROM = (
    _text("Recording"),
    _positive("Pairing freq.", "a positive pairing rate (Hz)"),
    _finite("Timing"),
    _probability("Pr (before)"),
    _probability("Pr (after)"),
    _positive("q (mV, before)", "a positive quantal size (mV)"),
    _positive("q (mV, after)", "a positive quantal size (mV)"),
    _positive("w (before)", "a positive weight"),
    _positive("w (after)", "a positive weight"),
    _finite("dp"),
    _finite("dp_rel"),
    _finite("dq"),
    _finite("dq_rel"),
    _finite("dw_abs"),
    _finite("dw_rel"),
)

_KO = (
    # The EPSP mean must be positive: every normalisation divides by it.
    _positive("mean", "a positive EPSP mean"),
    _positive("var", "a positive EPSP variance"),
    _positive("foopsi_mean", "a positive firing rate"),
    Column("foopsi_threshold", "number", lambda x: x >= 0.0, "a non-negative threshold"),
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "sjostrom2001_ltp": _SJOSTROM,
    "sjostrom2001_ltd": _SJOSTROM,
    "ko2013": _KO,
}

# Published row counts: the tests and the log compare against them.
EXPECTED_ROWS = {"sjostrom2001_ltp": 30, "sjostrom2001_ltd": 14, "ko2013": 136}

# dw_rel is published as |w(after) - w(before)| / w(before) (a magnitude, also for LTD).
# The published columns agree to ~5e-8 relative (rounding to 9 digits); a row that
# disagrees by more than this has inconsistent columns and is excluded.
DW_REL_TOLERANCE = 1e-4

# Second occurrences of a column name are kept under this suffix (LTD: "w (before) #2").
DUPLICATE_SUFFIX = " #{k}"


class HeaderError(ValueError):
    """A file whose header lacks required columns: the analysis cannot proceed."""


@dataclass(frozen=True)
class Exclusion:
    """One rejected data row: which file, which line (1-based, header = line 1), why."""

    file: str
    line: int
    reason: str


@dataclass
class ParsedTable:
    dataset: str
    file: str
    rows: pd.DataFrame  # the valid rows, with a "line" column
    excluded: list[Exclusion] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


def _header_names(fields: Sequence[str]) -> list[str]:
    """Strip names, drop trailing empty names (a trailing comma), de-duplicate repeats."""
    names = [f.strip() for f in fields]
    while names and names[-1] == "":
        names.pop()
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else name + DUPLICATE_SUFFIX.format(k=seen[name]))
    return out


def parse_experimental_csv(path: str | Path, dataset: str) -> ParsedTable:
    """Read one published CSV as it is; validate every value against ``SCHEMAS[dataset]``.

    Returns the valid rows and a list of exclusions (file, line, reason). Raises
    ``HeaderError`` naming the missing columns when the header lacks a required one.
    """
    if dataset not in SCHEMAS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {list(SCHEMAS)}")
    path = Path(path)
    schema = SCHEMAS[dataset]
    # utf-8-sig removes the byte-order mark; splitlines() handles the CRLF line ends.
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    header = _read_header(lines, schema, path.name)
    records, excluded = [], []
    for line_number, line in enumerate(lines[1:], start=2):
        if line.strip() == "":
            continue  # blank lines hold no data (none in the published files)
        fields = [f.strip() for f in next(csv.reader([line], skipinitialspace=True))]
        if len(fields) != len(header):
            reason = f"{len(fields)} fields, expected {len(header)} (truncated or malformed line)"
            excluded.append(Exclusion(path.name, line_number, reason))
            continue
        record, reasons = _parse_row(dict(zip(header, fields, strict=True)), schema)
        record = {"line": line_number, **record}
        if not reasons and dataset.startswith("sjostrom"):
            reasons.extend(_sjostrom_consistency(record))
        if reasons:
            excluded.append(Exclusion(path.name, line_number, "; ".join(reasons)))
        else:
            records.append(record)
    rows = pd.DataFrame.from_records(records, columns=["line", *header])
    return ParsedTable(dataset, path.name, rows, excluded, header)


def _read_header(lines: Sequence[str], schema: Sequence[Column], file: str) -> list[str]:
    """The column names of line 1; ``HeaderError`` if a column of ``schema`` is missing."""
    if not lines:
        raise HeaderError(f"{file}: empty file, no header")
    # skipinitialspace: the Ko header is `"mean", "var", ...` with a space before each quote.
    header = _header_names(next(csv.reader([lines[0]], skipinitialspace=True)))
    missing = [c.name for c in schema if c.name not in header]
    if missing:
        raise HeaderError(
            f"{file}: header lacks the required column(s) {missing}; found {header} (line 1)"
        )
    return header


def _parse_row(fields: dict[str, str], schema: Sequence[Column]) -> tuple[dict, list[str]]:
    """One data row read against ``schema``: (values by column, reasons to reject it)."""
    record, reasons = {}, []
    for column in schema:
        text = fields[column.name]
        if column.kind == "text":
            # Recording names are written in single quotes: 'EPSP_Sat_Sep_9_2000_5_to_6'.
            value = text.strip("'\"")
            if not value:
                reasons.append(f"column {column.name!r} is empty")
            record[column.name] = value
            continue
        try:
            value = float(text)
        except ValueError:
            reasons.append(f"column {column.name!r} = {text!r} is not a number")
            continue
        if not math.isfinite(value):
            reasons.append(f"column {column.name!r} = {text!r} is not finite")
        elif column.check is not None and not column.check(value):
            reasons.append(f"column {column.name!r} = {text} is not {column.rule}")
        record[column.name] = value
    # Columns outside the schema (the LTD file's duplicated weights) are kept as text.
    known = {column.name for column in schema}
    record |= {name: text for name, text in fields.items() if name not in known}
    return record, reasons


def _sjostrom_consistency(record: dict) -> list[str]:
    """dw_rel must equal |w(after) - w(before)| / w(before): catches a corrupted weight."""
    w_before, w_after = record["w (before)"], record["w (after)"]
    expected = abs(w_after - w_before) / w_before
    if abs(record["dw_rel"] - expected) > DW_REL_TOLERANCE * max(abs(expected), 1e-3):
        return [
            f"dw_rel = {record['dw_rel']:.6g} disagrees with |w(after) - w(before)| / w(before)"
            f" = {expected:.6g}"
        ]
    return []


def exclusions_frame(excluded: Sequence[Exclusion]) -> pd.DataFrame:
    """The table of excluded rows (header only when nothing was excluded)."""
    return pd.DataFrame(
        [(e.file, e.line, e.reason) for e in excluded], columns=["file", "line", "reason"]
    )
