"""The reproduction table: our numbers beside the authors' published ones, with a verdict.

One row per compared quantity (``results/reproduction.{csv,md}``):

* Figures 2 and 3, per ρ and noise setting: sampled test accuracy and RMS σ over the
  weights at every c on both grids (ours: mean ± sd over seeds); the first c at which
  the accuracy falls below 90 % (ours as an interval on our grid, the published one
  log-interpolated on its grid); the best accuracy over the c both grids cover.
* Figure 5 and Appendix 6 fig. 1, per layer and ρ: Spearman r of σ² with the Hessian
  (empirical Fisher of minibatch gradients), with the learning rate η_base/<|g|> and with
  the input rate; the published r computed from the published arrays by our own
  statistics (``published.fig5_table``).
* Reported without verdict (the paper claims none of them): per layer and ρ of the
  Figure 5 networks, the largest σ², the smallest mean output of a presynaptic hidden
  unit and the number of silent ones (docs/drift.md).

Each compared row: ours, published, difference (ours − published), tolerance and a
verdict, *reproduced*, *within seed spread* (three seeds or more only: outside the
tolerance but within two sd of our seeds, ``verdict``) or *not reproduced*, when the run
is comparable: trained at the
paper's settings (50 epochs, all 60,000 training images, batch 20; for Figure 5 also the
Methods' 10 statistics epochs). Rows of other runs say ``not comparable`` and carry no
verdict. The tolerances come from config.yaml (``published.tolerance``), fixed before
any run was compared.

Same definitions on both sides: accuracy with sampled weights (as the arrays hold it);
RMS σ over the weights only; in the released-code variant a homogeneous network's RMS σ
is that of every synapse's own σ_i (what the released script reported), not the shared
σ it samples with. The ``definition`` column says which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import TRAINING_VARIANTS, model_variant, resolve_training
from ..statistics import layer_unit_summary, mean_sd

COMPARED = "compared"
REPORTED = "reported"
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
WITHIN_SPREAD = "within seed spread"
NOT_COMPARABLE = "not comparable"
UNDETERMINED = "undetermined (our grid does not bracket it)"
NO_VERDICT = "no verdict"

# The paper's training settings (Methods); only runs with all of them are comparable.
PAPER_TRAINING = {"epochs": 50, "n_train": 60000, "batch_size": 20}
PAPER_STATISTICS_EPOCHS = 10
ACCURACY_LEVEL = 0.9  # "the first c at which accuracy falls below 90 %"

COLUMNS = [
    "section",
    "kind",
    "quantity",
    "rho",
    "noise",
    "layer",
    "log10_c",
    "variant",
    "comparable",
    "ours",
    "ours_sd",
    "ours_low",
    "ours_high",
    "n_seeds",
    "published",
    "difference",
    "tolerance",
    "verdict",
    "definition",
]


# --- the run ---------------------------------------------------------------------------


def run_settings(config: Mapping) -> dict:
    """What decides whether a run is comparable, and the label of its variant."""
    training = resolve_training(dict(config["training"]))
    return {
        "epochs": int(training["epochs"]),
        "n_train": int(training.get("train_subset") or 60000),
        "batch_size": int(training["batch_size"]),
        "statistics_epochs": int(config["curvature"]["statistics_epochs"]),
        "variant": variant_label(training),
        "homogeneous_form": training.get("homogeneous_form") or model_variant(training),
    }


def variant_label(training: Mapping) -> str:
    """The training variant, with what departs from it: e.g. 'as_published', 'methods
    (relu_placement released_code)' for a one-factor run, 'as_published (learning_rate
    0.001)' for a reduced preset."""
    training = resolve_training(dict(training))
    variant = training["variant"]
    form = model_variant(training)
    changes = []
    for part in ("relu_placement", "homogeneous_form"):
        if training.get(part) and training[part] != form:
            changes.append(f"{part} {training[part]}")
    for key in ("learning_rate", "magnitude_lambda"):
        if not math.isclose(float(training[key]), TRAINING_VARIANTS[variant][key]):
            changes.append(f"{key} {float(training[key]):g}")
    if training.get("dtype", "float32") != "float32":
        changes.append(str(training["dtype"]))
    return variant + (f" ({', '.join(changes)})" if changes else "")


def comparability(settings: Mapping, statistics: bool = False) -> tuple[bool, str]:
    """Whether a run trained at the paper's settings, and if not, what differs."""
    differences = [
        f"{key} {settings[key]} (paper {value})"
        for key, value in PAPER_TRAINING.items()
        if settings[key] != value
    ]
    if statistics and settings["statistics_epochs"] != PAPER_STATISTICS_EPOCHS:
        differences.append(
            f"statistics_epochs {settings['statistics_epochs']} (paper {PAPER_STATISTICS_EPOCHS})"
        )
    return not differences, "; ".join(differences)


# With this many seeds or more a row's verdict weighs the seed-to-seed spread (below).
MIN_SEEDS_FOR_SPREAD = 3
SPREAD_SDS = 2.0


def verdict(
    difference: float,
    tolerance: float,
    comparable: bool,
    seed_sd: float | None = None,
    n_seeds: int = 1,
) -> str:
    """The verdict of one compared row, fixed before any of the multi-seed runs.

    ``difference`` is ours (the mean over seeds) minus the published value. With fewer
    than three seeds: *reproduced* within ``tolerance``, else *not reproduced*. With three
    seeds or more (``seed_sd``: the sd over seeds of our value, in the units of
    ``difference``): *reproduced* within ``tolerance``; *within seed spread* if not, but
    within two sd of our seeds (the published value, one seed, is as far from our mean as
    a seed of ours may be); *not reproduced* otherwise.
    """
    if not comparable:
        return NOT_COMPARABLE
    if not math.isfinite(difference):
        return NOT_REPRODUCED
    if abs(difference) <= tolerance:
        return REPRODUCED
    if (
        n_seeds >= MIN_SEEDS_FOR_SPREAD
        and seed_sd is not None
        and math.isfinite(seed_sd)
        and abs(difference) <= SPREAD_SDS * seed_sd
    ):
        return WITHIN_SPREAD
    return NOT_REPRODUCED


def _row(section, quantity, settings, comparable, note, **values) -> dict:
    row = dict.fromkeys(COLUMNS, None)
    row.update(
        section=section,
        kind=COMPARED,
        quantity=quantity,
        variant=settings["variant"],
        comparable="yes" if comparable else f"no: {note}",
    )
    row.update(values)
    return row


# --- Figures 2 and 3 --------------------------------------------------------------------


def crossing_log10(log10_c, accuracy, level: float = ACCURACY_LEVEL) -> float:
    """log10 c where ``accuracy`` (sorted by c) first falls below ``level``, linearly
    interpolated in log c; -inf if below already at the first c, +inf if never."""
    log10_c, accuracy = np.asarray(log10_c, float), np.asarray(accuracy, float)
    if accuracy[0] < level:
        return -math.inf
    for i in range(len(accuracy) - 1):
        if accuracy[i] >= level > accuracy[i + 1]:
            t = (accuracy[i] - level) / (accuracy[i] - accuracy[i + 1])
            return float(log10_c[i] + t * (log10_c[i + 1] - log10_c[i]))
    return math.inf


def crossing_interval(log10_c, accuracy, level: float = ACCURACY_LEVEL) -> tuple[float, float]:
    """On a grid: (last log10 c at or above ``level`` before the first below it, that
    first c below). (-inf, c_0] if below at the first c; [c_last, +inf) if never below."""
    log10_c, accuracy = np.asarray(log10_c, float), np.asarray(accuracy, float)
    below = np.flatnonzero(accuracy < level)
    if below.size == 0:
        return float(log10_c[-1]), math.inf
    first = int(below[0])
    if first == 0:
        return -math.inf, float(log10_c[0])
    return float(log10_c[first - 1]), float(log10_c[first])


def distance_to_interval(value: float, low: float, high: float) -> float:
    """Signed distance from an interval to ``value`` (0 inside): interval − value."""
    if low <= value <= high:
        return 0.0
    if value < low:
        return low - value
    return high - value


def _seed_curves(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, sd and count over seeds of ``column`` per (ρ, noise, log10 c)."""
    grouped = table.groupby(["rho", "noise", "log10_c"])[column]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    return out.sort_values(["rho", "noise", "log10_c"])


def ours_training(table: pd.DataFrame, own_sigma: bool = False) -> pd.DataFrame:
    """training.csv rows of networks that did not diverge, with log10 c (6 decimals,
    to match grid points) and the RMS σ defined as the published one (``sigma_published``:
    with ``own_sigma``, the released code's homogeneous form, each synapse's own σ_i)."""
    table = table.copy()
    if "diverged" in table:
        table = table[~table["diverged"].astype(str).str.lower().isin(["true", "1"])]
    table["rho"] = table["rho"].astype(str)
    table["log10_c"] = np.round(np.log10(table["c"].astype(float)), 6)
    own = table["sigma_rms_own"] if own_sigma and "sigma_rms_own" in table else None
    table["sigma_published"] = table["sigma_rms"]
    if own is not None:
        use_own = own.notna() & (table["noise"] == "homogeneous")
        table.loc[use_own, "sigma_published"] = own[use_own]
    return table


def fig23_rows(
    ours: pd.DataFrame, published: pd.DataFrame, settings: Mapping, tolerance: Mapping
) -> list[dict]:
    """Rows of Figures 2 and 3 (see the module docstring); ``ours``: training.csv."""
    comparable, note = comparability(settings)
    released_form = settings.get("homogeneous_form") == "released_code"
    ours = ours_training(ours, own_sigma=released_form)
    published = published.copy()
    published["log10_c"] = np.round(published["log10_c"], 6)
    released_form = settings.get("homogeneous_form") == "released_code"
    sigma_note = "RMS over the weights (biases excluded) of the σ the weights are sampled with" + (
        "; homogeneous networks: of every synapse's own σ_i, as the released script reported it"
        if released_form
        else ""
    )
    rows = []
    for (rho, noise), mine in ours.groupby(["rho", "noise"], sort=False):
        theirs = published[(published["rho"] == rho) & (published["noise"] == noise)]
        if theirs.empty:
            continue
        theirs = theirs.set_index("log10_c").sort_index()
        accuracy = _seed_curves(mine, "test_accuracy_sampled")
        sigma = _seed_curves(mine, "sigma_published")
        # The seed spread of RMS σ in decades, the units of its difference.
        mine = mine.assign(log10_sigma=np.log10(mine["sigma_published"].where(lambda v: v > 0)))
        log_sigma = _seed_curves(mine, "log10_sigma").set_index("log10_c")
        common = [lc for lc in accuracy["log10_c"] if lc in theirs.index]
        for lc in common:
            a = accuracy[accuracy["log10_c"] == lc].iloc[0]
            s = sigma[sigma["log10_c"] == lc].iloc[0]
            p_acc = 100 * float(theirs.loc[lc, "test_accuracy_sampled"])
            p_sig = float(theirs.loc[lc, "sigma_rms"])
            diff = 100 * a["mean"] - p_acc
            rows.append(
                _row(
                    "Figure 2a",
                    "test accuracy (%)",
                    settings,
                    comparable,
                    note,
                    rho=rho,
                    noise=noise,
                    log10_c=lc,
                    ours=100 * a["mean"],
                    ours_sd=100 * a["std"] if a["count"] > 1 else None,
                    n_seeds=int(a["count"]),
                    published=p_acc,
                    difference=diff,
                    tolerance=tolerance["accuracy_points"],
                    verdict=verdict(
                        diff,
                        tolerance["accuracy_points"],
                        comparable,
                        100 * a["std"],
                        int(a["count"]),
                    ),
                    definition="sampled weights (a fresh draw per test minibatch), test set",
                )
            )
            log_ratio = math.log10(s["mean"] / p_sig) if s["mean"] > 0 and p_sig > 0 else math.nan
            rows.append(
                _row(
                    "Figure 2b",
                    "RMS σ",
                    settings,
                    comparable,
                    note,
                    rho=rho,
                    noise=noise,
                    log10_c=lc,
                    ours=s["mean"],
                    ours_sd=s["std"] if s["count"] > 1 else None,
                    n_seeds=int(s["count"]),
                    published=p_sig,
                    difference=log_ratio,
                    tolerance=tolerance["sigma_decades"],
                    verdict=verdict(
                        log_ratio,
                        tolerance["sigma_decades"],
                        comparable,
                        log_sigma.loc[lc, "std"],
                        int(s["count"]),
                    ),
                    definition=sigma_note + "; difference = log10(ours / published)",
                )
            )
        rows += _crossing_and_best(
            accuracy, theirs, rho, noise, settings, tolerance, comparable, note
        )
    return rows


def _crossing_and_best(accuracy, theirs, rho, noise, settings, tolerance, comparable, note):
    lcs, means = accuracy["log10_c"].to_numpy(), accuracy["mean"].to_numpy()
    low, high = crossing_interval(lcs, means)
    p_lcs = theirs.index.to_numpy()
    p_acc = theirs["test_accuracy_sampled"].to_numpy()
    p_cross = crossing_log10(p_lcs, p_acc)
    diff = distance_to_interval(p_cross, low, high) if math.isfinite(p_cross) else math.nan
    judged = verdict(diff, tolerance["crossing_decades"], comparable)
    if judged == REPRODUCED and not (math.isfinite(low) and math.isfinite(high)):
        # An open interval (our accuracy below 90 % at our first c, or never below it)
        # that holds the published crossing shows nothing either way.
        judged = UNDETERMINED
    rows = [
        _row(
            "Figure 2a",
            "log10 c where accuracy first falls below 90 %",
            settings,
            comparable,
            note,
            rho=rho,
            noise=noise,
            ours=crossing_log10(lcs, means),
            ours_low=low,
            ours_high=high,
            n_seeds=int(accuracy["count"].min()),
            published=p_cross,
            difference=diff,
            tolerance=tolerance["crossing_decades"],
            verdict=judged,
            definition=(
                "ours: between the last c of our grid at ≥ 90 % and the first below (mean over "
                "seeds; the value is log-interpolated); published: log-interpolated on its grid; "
                "difference: from the published c to our interval (0 inside)"
            ),
        )
    ]
    both = (p_lcs >= lcs.min() - 1e-9) & (p_lcs <= lcs.max() + 1e-9)
    mine = (lcs >= p_lcs.min() - 1e-9) & (lcs <= p_lcs.max() + 1e-9)
    if both.any() and mine.any():
        best_ours, best_theirs = 100 * means[mine].max(), 100 * p_acc[both].max()
        diff = best_ours - best_theirs
        rows.append(
            _row(
                "Figure 2a",
                "best test accuracy (%)",
                settings,
                comparable,
                note,
                rho=rho,
                noise=noise,
                ours=best_ours,
                n_seeds=int(accuracy["count"].min()),
                published=best_theirs,
                difference=diff,
                tolerance=tolerance["accuracy_points"],
                verdict=verdict(diff, tolerance["accuracy_points"], comparable),
                definition=(
                    f"the highest mean accuracy over the c both grids cover "
                    f"(10^{max(lcs.min(), p_lcs.min()):g} to 10^{min(lcs.max(), p_lcs.max()):g})"
                ),
            )
        )
    return rows


# --- Figure 5 -------------------------------------------------------------------------


FIG5_WORDS = {
    "hessian": "Spearman r of σ² with the Hessian (empirical Fisher, minibatch gradients)",
    "learning_rate_abs": "Spearman r of σ² with the learning rate η_base/<|g|>",
    "input_rate": "Spearman r of σ² with the input rate",
}


def fig5_rows(
    ours: pd.DataFrame, published: pd.DataFrame, settings: Mapping, tolerance: Mapping
) -> list[dict]:
    """Rows of Figure 5 / Appendix 6 fig. 1; ``ours``: curvature.csv, ``published``:
    ``published.fig5_table``. Ours at c = s^ρ/ρ (c factor 1), minibatch Fisher."""
    comparable, note = comparability(settings, statistics=True)
    ours = ours.copy()
    ours["rho"] = ours["rho"].astype(str)
    ours = ours[np.isclose(ours["c_factor"], 1.0)]
    ours = ours[(ours["quantity"] == "input_rate") | (ours["gradient"] == "minibatch")]
    rows = []
    for _, p in published.iterrows():
        mine = ours[
            (ours["rho"] == p["rho"])
            & (ours["layer"] == p["layer"])
            & (ours["quantity"] == p["quantity"])
        ]
        if mine.empty:
            continue
        per_seed = mine.groupby("seed")["spearman_r"].mean()
        value, sd = mean_sd(per_seed)
        excluded = mine["n_excluded"].sum() / max(mine["n_synapses"].sum(), 1)
        diff = value - float(p["spearman_r"])
        rows.append(
            _row(
                "Figure 5" if p["layer"] == 2 else "Appendix 6 fig. 1",
                FIG5_WORDS[p["quantity"]],
                settings,
                comparable,
                note,
                rho=p["rho"],
                layer=int(p["layer"]),
                ours=value,
                ours_sd=sd if len(per_seed) > 1 else None,
                n_seeds=len(per_seed),
                published=float(p["spearman_r"]),
                difference=diff,
                tolerance=tolerance["spearman"],
                verdict=verdict(diff, tolerance["spearman"], comparable, sd, len(per_seed)),
                definition=(
                    "both computed by statistics.loglog_fit over the synapses with a positive, "
                    f"finite quantity (left out: ours {excluded:.0%}, published "
                    f"{int(p['n_excluded'])} of {int(p['n_synapses'])}); c = s^ρ/ρ, s = 0.001"
                ),
            )
        )
    return rows


def unit_summary(arrays: Mapping[str, np.ndarray]) -> list[dict]:
    """``statistics.layer_unit_summary`` of every layer of one of our statistics.npz (the
    input rate of a layer above the first is its presynaptic units' mean output)."""
    from ..artefacts import statistics_key, statistics_layers

    return [
        {"layer": layer}
        | layer_unit_summary(
            arrays[statistics_key("sigma_squared", layer)],
            arrays[statistics_key("input_rate", layer)] if layer > 1 else None,
        )
        for layer in statistics_layers(arrays)
    ]


DRIFT_WORDS = {
    "sigma_squared_max": "largest σ² of the layer's synapses",
    "unit_output_min": "smallest mean output of a presynaptic hidden unit",
    "silent_presynaptic_units": "presynaptic hidden units with no output (silent)",
}


def drift_rows(ours: pd.DataFrame, published: pd.DataFrame, settings: Mapping) -> list[dict]:
    """Reported beside each other, no verdict: the quantities of docs/drift.md that the
    published Figure 5 arrays allow. ``ours``: ``unit_summary`` rows with rho and seed."""
    comparable, note = comparability(settings, statistics=True)
    rows = []
    ours = ours.copy()
    ours["rho"] = ours["rho"].astype(str)
    for _, p in published.iterrows():
        mine = ours[(ours["rho"] == p["rho"]) & (ours["layer"] == p["layer"])]
        if mine.empty:
            continue
        for column, words in DRIFT_WORDS.items():
            if column not in p or pd.isna(p[column]) or column not in mine:
                continue
            value, sd = mean_sd(mine[column].astype(float))
            row = _row(
                "Figure 5 networks: silent units and σ",
                words,
                settings,
                comparable,
                note,
                rho=p["rho"],
                layer=int(p["layer"]),
                ours=value,
                ours_sd=sd if len(mine) > 1 else None,
                n_seeds=len(mine),
                published=float(p[column]),
                difference=value - float(p[column]),
                verdict=NO_VERDICT,
                definition="not a claim of the paper: reported beside ours (docs/drift.md)",
            )
            row["kind"] = REPORTED
            rows.append(row)
    return rows


# --- the table --------------------------------------------------------------------------


def reproduction_table(rows: Sequence[dict]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def summary_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per section: rows compared, reproduced, not reproduced, not comparable."""
    compared = table[table["kind"] == COMPARED]
    out = compared.groupby("section", sort=False)["verdict"].value_counts().unstack(fill_value=0)
    verdicts = [REPRODUCED, WITHIN_SPREAD, NOT_REPRODUCED, UNDETERMINED, NOT_COMPARABLE]
    for column in verdicts:
        if column not in out:
            out[column] = 0
    out["rows"] = out[verdicts].sum(axis=1)
    return out[["rows", *verdicts]].reset_index()


def _fmt(value, spec=".3g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        if isinstance(value, float) and math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return "–"
    return format(value, spec)


def reproduction_markdown(table: pd.DataFrame, grid_note: str = "") -> str:
    """The table as Markdown: a summary per section, then every row by section."""
    out = ["# Reproduction of the published results", ""]
    if table.empty:
        return "\n".join(out + ["No quantity of this run has a published counterpart.", ""])
    variant = ", ".join(sorted(table["variant"].unique()))
    out += [f"Variant: {variant}.", ""]
    if grid_note:
        out += [grid_note, ""]
    comparable = table.groupby("section", sort=False)["comparable"].first()
    out += [
        "| section | comparable | rows | reproduced | within seed spread | not reproduced "
        "| undetermined | not comparable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary_counts(table).itertuples(index=False):
        cells = [r[0], comparable[r[0]], *r[1:]]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    reported = table[table["kind"] == REPORTED]
    if len(reported):
        out.append(
            f"\nAlso {len(reported)} rows reported without verdict (not claims of the paper)."
        )
    out.append("")
    for section, rows in table.groupby("section", sort=False):
        out += [f"## {section}", ""]
        out += [
            "| quantity | ρ | noise | layer | log10 c | ours | published | difference "
            "| tolerance | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows.itertuples(index=False):
            ours = _fmt(r.ours)
            if r.ours_sd is not None and not pd.isna(r.ours_sd):
                ours += f" ± {_fmt(r.ours_sd, '.2g')}"
            if r.ours_low is not None and not pd.isna(r.ours_low):
                left = "(" if math.isinf(r.ours_low) else "["
                right = ")" if math.isinf(r.ours_high) else "]"
                ours = f"{left}{_fmt(r.ours_low)}, {_fmt(r.ours_high)}{right}"
            cells = [
                r.quantity,
                r.rho,
                r.noise or "",
                "" if r.layer is None or pd.isna(r.layer) else int(r.layer),
                "" if r.log10_c is None or pd.isna(r.log10_c) else _fmt(r.log10_c, "g"),
                ours,
                _fmt(r.published),
                _fmt(r.difference, ".2g"),
                "" if r.tolerance is None or pd.isna(r.tolerance) else _fmt(r.tolerance, "g"),
                r.verdict,
            ]
            out.append("| " + " | ".join(str(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out)
