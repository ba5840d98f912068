"""The rows of the claims table, their kinds, evidence groups, and the table itself.

Three kinds of rows:

* **claims of the paper** (``PAPER``): a sentence of the paper (quoted, with its section),
  a quantity measured on trained networks or data, a criterion fixed in config.yaml
  before the run, a verdict pass or FAIL, and what would make it fail (``fails_if``);
* **sanity checks** (``SANITY``): identities that hold by construction; they check the
  computation, never the paper: holds or BROKEN;
* **reported comparisons** (``REPORTED``): numbers the paper does not claim, beside the
  analytic value of the linear model; no verdict.

Rows computed from the same numbers are not separate evidence: every claim row names its
``evidence`` group, and the summary counts independent claims (groups), a group passing
only when all its rows pass.

Networks marked ``diverged`` are left out of every statistic and counted in the row's
scope: never a silent gap.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

PAPER = "claim of the paper"
SANITY = "sanity check"
REPORTED = "reported comparison"
KINDS = (PAPER, SANITY, REPORTED)
NO_VERDICT = "no verdict"
NOT_EVALUABLE = "not evaluable on this run"

# Identities checked by the sanity rows hold to rounding.
IDENTITY_TOLERANCE = 1e-6


@dataclass
class ClaimResult:
    kind: str  # PAPER, SANITY or REPORTED
    claim: str  # identifier, stable across runs
    statement: str
    quote: str  # the paper's sentence this row tests, with its section ("" if none)
    figure: str
    scope: str  # e.g. "rho=1/2, heterogeneous"
    quantity: str
    value: float
    spread: float  # standard deviation across seeds (NaN with one seed)
    n_seeds: int
    criterion: str
    passed: bool | None  # None for reported comparisons
    reference: float = float("nan")  # the analytic value a reported number sits beside
    # Claims only: the group of rows computed from the same numbers (one independent
    # claim), and what result would make this row fail.
    evidence: str = ""
    fails_if: str = ""
    # A claim the run cannot evaluate: the networks or table it lacks. Its verdict is
    # "not evaluable", never a pass.
    missing: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == REPORTED) != (self.passed is None):
            raise ValueError(f"{self.claim}: reported comparisons, and only they, have no verdict")
        if self.kind == PAPER and not self.evidence:
            self.evidence = self.claim

    @property
    def verdict(self) -> str:
        if self.missing:
            return NOT_EVALUABLE
        if self.kind == REPORTED:
            return NO_VERDICT
        if self.kind == SANITY:
            return "holds" if self.passed else "BROKEN"
        return "pass" if self.passed else "FAIL"

    def as_row(self) -> dict:
        row = asdict(self)
        del row["passed"]
        row["verdict"] = self.verdict
        return row


# --- helpers ---------------------------------------------------------------------------


def as_bool(value) -> bool:
    if isinstance(value, str):
        if value.strip().lower() in ("true", "1"):
            return True
        if value.strip().lower() in ("false", "0", ""):
            return False
        raise ValueError(f"diverged must be true or false, got {value!r}")
    return bool(value) if value == value else False  # NaN: not recorded, not diverged


def without_diverged(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows of networks that did not diverge, and how many rows were left out.

    A table without a ``diverged`` column comes from networks that all converged.
    """
    if "diverged" not in table:
        return table, 0
    diverged = table["diverged"].map(as_bool)
    return table[~diverged], int(diverged.sum())


def without_diverged_by_group(table: pd.DataFrame, keys: list[str]):
    """``without_diverged`` and the number of excluded networks per group of ``keys``."""
    if "diverged" not in table:
        return table, {}
    diverged = table["diverged"].map(as_bool)
    counts = table[diverged].groupby(keys).size().to_dict()
    counts = {k if isinstance(k, tuple) else (k,): v for k, v in counts.items()}
    if len(keys) == 1:
        counts = {k[0]: v for k, v in counts.items()}
    return table[~diverged], counts


def span(counts) -> str:
    """'3' or '3-5': how many values entered, over seeds."""
    low, high = min(counts), max(counts)
    return f"{low}" if low == high else f"{low}-{high}"


def excluded(n: int) -> str:
    return f"; {n} diverged network{'s' if n != 1 else ''} excluded" if n else ""


def dead_fraction(rows: pd.DataFrame) -> str:
    """'; 2-5 % of synapses left out as dead': synapses without a positive, finite value
    (a silent presynaptic unit: H = 0, rate 0), which a log-log statistic cannot use."""
    if not {"n_excluded", "n_synapses"} <= set(rows.columns) or rows.empty:
        return ""
    fraction = rows["n_excluded"].astype(float) / rows["n_synapses"].astype(float)
    low, high = 100 * fraction.min(), 100 * fraction.max()
    text = f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"
    return f"; {text} % of synapses left out as dead"


def sign_word(sign: int) -> str:
    return "< 0" if sign < 0 else "> 0"


# --- the table -------------------------------------------------------------------------

COLUMNS = [
    "kind",
    "claim",
    "statement",
    "quote",
    "figure",
    "scope",
    "quantity",
    "value",
    "spread",
    "n_seeds",
    "criterion",
    "reference",
    "verdict",
    "evidence",
    "fails_if",
    "missing",
]


def not_evaluable(claim: str, statement: str, quote: str, figure: str, missing: str,
                  evidence: str = "") -> ClaimResult:  # fmt: skip
    """A claim row the run cannot evaluate, naming what it lacks (never a pass)."""
    return ClaimResult(
        PAPER, claim, statement, quote, figure, f"needs {missing}", "", float("nan"),
        float("nan"), 0, "", False, evidence=evidence or claim, missing=missing,
    )  # fmt: skip


def claims_table(results: list[ClaimResult]) -> pd.DataFrame:
    """One row per claim and scope, ordered by kind (claims, sanity checks, reported)."""
    table = pd.DataFrame([r.as_row() for r in results], columns=COLUMNS)
    order = table["kind"].map({k: i for i, k in enumerate(KINDS)})
    return table.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def independent_claims(table: pd.DataFrame) -> pd.DataFrame:
    """One row per evidence group of the claims of the paper: its rows, how many pass, and
    its outcome: "pass" (every row passes), "partly" (some do) or "FAIL" (none does)."""
    claims = table[table["kind"] == PAPER]
    grouped = claims.groupby("evidence", sort=False)["verdict"]
    out = pd.DataFrame(
        {
            "rows": grouped.size(),
            "rows_passed": grouped.apply(lambda v: int((v == "pass").sum())),
            "rows_not_evaluable": grouped.apply(lambda v: int((v == NOT_EVALUABLE).sum())),
        }
    )
    out["passed"] = out["rows"] == out["rows_passed"]
    evaluable = out["rows"] - out["rows_not_evaluable"]
    out["outcome"] = np.where(
        out["passed"],
        "pass",
        np.where(
            out["rows_passed"] > 0,
            "partly",
            np.where(evaluable > 0, "FAIL", "not evaluable"),
        ),
    )
    return out.reset_index()


SECTION_TEXT = {
    PAPER: (
        "Claims of the paper",
        "Each row tests a sentence of the paper (quoted in results/claims.csv, column "
        "`quote`) on quantities measured on trained networks or published data, against a "
        "criterion fixed in config.yaml before the run; column `fails_if` says what result "
        "would fail it. Rows that share their numbers form one independent claim (column "
        "`evidence`); the count above is of those.",
    ),
    SANITY: (
        "Sanity checks",
        "Identities and properties that hold by construction: they check the computation, "
        "not the paper, and are never counted as evidence.",
    ),
    REPORTED: (
        "Reported comparisons",
        "Numbers the paper does not claim, next to the analytic value of the linear model "
        "(column `reference`); no verdict.",
    ),
}


def _number(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "undefined"


def claims_markdown(table: pd.DataFrame) -> str:
    """The claims table as Markdown: the count of independent claims passed, then one
    section per kind, one row per claim and scope."""
    groups = independent_claims(table)
    claims = table[table["kind"] == PAPER]
    counts = groups["outcome"].value_counts()
    out = [
        f"**{int(counts.get('pass', 0))} of {len(groups)} independent claims of the paper "
        f"pass in every row**, {int(counts.get('partly', 0))} in some rows, "
        f"{int(counts.get('FAIL', 0))} in none ({int((claims['verdict'] == 'pass').sum())} "
        f"of {len(claims)} rows pass)"
        + (
            f"; {int(counts.get('not evaluable', 0))} not evaluable on this run."
            if counts.get("not evaluable", 0)
            else "."
        ),
        "",
    ]
    for outcome, word in (
        ("partly", "Partly passing"),
        ("FAIL", "Failing"),
        ("not evaluable", "Not evaluable on this run"),
    ):
        names = groups[groups["outcome"] == outcome]["evidence"].tolist()
        if names:
            out += [f"{word}: " + "; ".join(names) + ".", ""]
    for kind in KINDS:
        rows = table[table["kind"] == kind]
        title, text = SECTION_TEXT[kind]
        out += [f"## {title} ({len(rows)} rows)", "", text, ""]
        if kind == REPORTED:
            out += [
                "| statement | figure | scope | quantity | value ± sd over seeds | reference |",
                "|---|---|---|---|---|---|",
            ]
        else:
            out += [
                "| statement | figure | scope | quantity | value ± sd over seeds | criterion "
                "| verdict |",
                "|---|---|---|---|---|---|---|",
            ]
        for r in rows.itertuples():
            spread = "" if not math.isfinite(r.spread) else f" ± {r.spread:.3g}"
            seeds = f" ({r.n_seeds} seeds)" if r.n_seeds > 0 else ""
            cells = [r.statement, r.figure, r.scope, r.quantity, _number(r.value) + spread + seeds]
            cells += [_number(r.reference)] if kind == REPORTED else [r.criterion, r.verdict]
            out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)
