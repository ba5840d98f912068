"""The as-published evidence at paper settings, from the compact tables of several runs.

Each paper-settings run (profiles/experiments/as-published-*, lr-epochs-*) is a workflow
directory of its own. ``collect`` copies its compact tables (never parameters or
checkpoints) and a few figures into ``docs/runs/<run>/`` with a RUN.md (commit, dates, wall
time). ``report`` reads those folders and writes, under ``docs/runs/as-published/``:

* Figures 2 and 3 at paper settings, all four ρ, ours (points; seed bands where there are
  seeds) over the published curves, by the workflow's own ``figures.tradeoff.plot_fig2``
  and ``plot_fig3`` (``fig2-paper-settings.png``, ``fig3-paper-settings.png``; a partial
  grid draws what exists);
* the reproduction table of the union (``reproduction.{csv,md}``), the seed verdict
  included (``table.verdict``);
* the 90 % and 50 % crossings, ours against the published, per ρ and noise setting;
* the seed spreads at the columns with three seeds;
* the Figure 5 / Appendix 6 fig. 1 rows over the union's curvature tables (seeds of
  several runs joined, so the seed verdict applies) (``fig5_reproduction.{csv,md}``);
* Figure 7 over the union's seeds: learnt σ² against the variational posterior, per ρ
  (``fig7_slopes.csv``);
* the learning rate × training length table of the lr-epochs runs;
* the claims table over the union (``claims.{csv,md}``): Figure 2/3 claims on the seed-0
  networks (the complete transitions; seeds 1 and 2 hold two columns per curve, which
  feed the seed verdicts); a family whose networks no run trained is "not evaluable".

    python -m efficient_synapses.reproduction.evidence collect RUN_DIR --name NAME \\
        --commit C --started T0 --ended T1 [--out docs/runs]
    python -m efficient_synapses.reproduction.evidence report [--runs docs/runs] \\
        [--published ../shared/data/published] [--config config.yaml]
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..artefacts import parse_rho
from ..claims import all_claims, claims_markdown, claims_table, independent_claims
from ..costs import analytic_slopes
from ..data.published import fig5_table, fig23_table
from ..figures.style import short_scientific
from .paper_runs import PUBLISHED_GRID, published_crossings
from .table import (
    crossing_log10,
    fig5_rows,
    fig23_rows,
    reproduction_markdown,
    reproduction_table,
    run_settings,
    summary_counts,
)

TABLES = [
    "training",
    "training_history",
    "paper_slice",
    "curvature",
    "fisher_vs_hessian",
    "exact_hessian",
    "posterior_slopes",
    "nohidden_slopes",
    "elbo_bound",
    "toy_regression",
    "experimental",
]
FIGURES = ["fig2", "fig3", "fig5", "fig7", "figA5_1", "figA6_1", "figA6_2", "fig5_published",
           "fig5_exact_hessian", "training_history", "drift"]  # fmt: skip
FIG2_RUNS = ("as-published-fig2-a", "as-published-fig2-b", "as-published-seeds")
LR_PREFIX = "lr-epochs-"  # the learning rate x training length runs: lr-epochs-<rate>[-...]
UNION = "as-published"


# --- collect ------------------------------------------------------------------------------


def collect(
    run_dir: Path,
    name: str,
    out: Path,
    commit: str,
    started: str,
    ended: str,
    redrawn_at: str | None = None,
) -> Path:
    """Copy a finished (or stopped) run's compact tables and figures to ``out/name``.

    ``redrawn_at``: the commit whose code redrew the run's tables and figures from its
    trained networks (``--rerun-triggers mtime --forcerun`` the table and plot rules)."""
    run_dir, target = Path(run_dir), Path(out) / name
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for table in TABLES:
        source = run_dir / "results" / "tables" / f"{table}.csv"
        if source.is_file():
            shutil.copy(source, target / source.name)
            copied.append(source.name)
    for stem in ("reproduction.csv", "reproduction.md", "configuration.yaml"):
        source = run_dir / "results" / stem
        if source.is_file():
            shutil.copy(source, target / stem)
            copied.append(stem)
    for figure in FIGURES:
        source = run_dir / "figures" / f"{figure}.png"
        if source.is_file():
            shutil.copy(source, target / source.name)
            copied.append(source.name)
    hours = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    hours /= 3600
    (target / "RUN.md").write_text(
        f"# {name}\n\n"
        f"`snakemake --profile profiles/experiments/{name}` at commit {commit}, started "
        f"{started}, ended {ended} ({hours:.2f} h of wall time, one core of a 2-core machine "
        f"shared with other work)."
        + (
            f" Its tables and figures were redrawn from its networks by the code of commit "
            f"{redrawn_at} (`--rerun-triggers mtime --forcerun` the table and plot rules; "
            f"no network retrained)."
            if redrawn_at
            else ""
        )
        + f"\n\nFiles: {', '.join(copied)}.\n"
    )
    return target


# --- report -------------------------------------------------------------------------------


def read_runs(runs: Path, names) -> dict[str, pd.DataFrame]:
    """Each table of the named runs (those present), concatenated, duplicates dropped."""
    out = {}
    for table in TABLES:
        parts = [
            pd.read_csv(runs / name / f"{table}.csv")
            for name in names
            if (runs / name / f"{table}.csv").is_file()
        ]
        if parts:
            out[table] = pd.concat(parts, ignore_index=True).drop_duplicates()
    return out


def crossings(training: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Per ρ and noise: the log10 c where the mean accuracy over seeds first falls below
    90 % and 50 %, ours (log-interpolated between our columns) beside the published."""
    theirs = published_crossings(published).set_index(["rho", "noise"])
    training = training.assign(rho=training["rho"].astype(str))
    rows = []
    order = sorted(training["rho"].unique(), key=parse_rho)
    for (rho, noise), g in sorted(
        training.groupby(["rho", "noise"]), key=lambda kv: (order.index(kv[0][0]), kv[0][1])
    ):
        curve = g.groupby("c")["test_accuracy_sampled"].mean().sort_index()
        log10_c = np.log10(curve.index.to_numpy(float))
        row = {"rho": rho, "noise": noise, "columns": len(curve)}
        for level in (90, 50):
            ours = crossing_log10(log10_c, curve.to_numpy(), level / 100)
            # an open end (first column already below, or never below) is not a crossing
            row[f"ours_{level}"] = ours if math.isfinite(ours) else float("nan")
            row[f"published_{level}"] = float(theirs.loc[(rho, noise), f"log10_c_{level}"])
            row[f"difference_{level}"] = row[f"ours_{level}"] - row[f"published_{level}"]
        rows.append(row)
    return pd.DataFrame(rows)


def accuracy_as_c_shift(training: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Each network's sampled test accuracy read as a shift along c: the log10 c at which
    the published curve of its ρ and noise (log-linear between columns) has the same
    accuracy, minus the network's own log10 c. On the steep fall of a curve a shift of
    0.05 decade moves accuracy by several points, so a miss in points says little without
    it. Only networks whose mean accuracy over seeds lies on the fall (15 % to 95 %), where
    the curve is monotone and the inverse defined."""
    rows = []
    training = training.assign(rho=training["rho"].astype(str))
    for (rho, noise, c), g in training.groupby(["rho", "noise", "c"]):
        accuracy = float(g["test_accuracy_sampled"].mean())
        curve = published[(published["rho"] == rho) & (published["noise"] == noise)]
        curve = curve.sort_values("log10_c")
        if not 0.15 <= accuracy <= 0.95 or curve.empty:
            continue
        acc, log10_c = curve["test_accuracy_sampled"].to_numpy(), curve["log10_c"].to_numpy()
        at = crossing_log10(log10_c, acc, accuracy)
        if not math.isfinite(at):
            continue
        rows.append({"rho": rho, "noise": noise, "log10_c": round(math.log10(c), 6),
                     "seeds": len(g), "ours": 100 * accuracy,
                     "published_at_c": 100 * float(np.interp(math.log10(c), log10_c, acc)),
                     "shift_decades": at - math.log10(c)})  # fmt: skip
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    key = table["rho"].map(lambda r: float(parse_rho(r)))
    return table.assign(_key=key).sort_values(["_key", "noise", "log10_c"]).drop(columns="_key")


def _learning_rate(run: Path) -> float:
    """A run's Adam learning rate: from its configuration.yaml, else from its name
    (lr-epochs-<rate>)."""
    path = run / "configuration.yaml"
    if path.is_file():
        import yaml

        rate = (yaml.safe_load(path.read_text()) or {}).get("training", {}).get("learning_rate")
        if rate is not None:
            return float(rate)
    match = re.match(rf"{LR_PREFIX}(\d+(?:\.\d+)?e-\d+)", run.name)
    if match is None:
        raise ValueError(f"{run}: no configuration.yaml and no learning rate in its name")
    return float(match.group(1))


def fig7_summary(slopes: pd.DataFrame) -> pd.DataFrame:
    """Per ρ, the learnt σ² against the variational posterior of the same synapses
    (``posterior_slopes.csv``, comparison ``trained_vs_vi``) over the union's seeds and c:
    the least-squares and reduced-major-axis slopes at the centre c (mean ± sd over seeds),
    the range of Spearman r over every network, and Eq. 54c's 2/(ρ+2)."""
    vi = slopes[slopes["comparison"] == "trained_vs_vi"].assign(rho=lambda t: t["rho"].astype(str))
    rows = []
    for rho, g in sorted(vi.groupby("rho"), key=lambda kv: parse_rho(kv[0])):
        centre = g[np.isclose(g["c_factor"], 1.0)]
        rows.append(
            {
                "rho": rho,
                "seeds": int(g["seed"].nunique()),
                "networks": len(g),
                "slope_centre_mean": float(centre["slope"].mean()),
                "slope_centre_sd": float(centre["slope"].std(ddof=1)) if len(centre) > 1
                else float("nan"),
                "rma_slope_centre_mean": float(centre["rma_slope"].mean()),
                "spearman_min": float(g["spearman_r"].min()),
                "spearman_max": float(g["spearman_r"].max()),
                "eq54c_slope": analytic_slopes(float(parse_rho(rho)))["posterior_variance"],
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def lr_histories(runs: Path) -> pd.DataFrame:
    """The training histories of the lr-epochs runs (folders ``lr-epochs-*``), each row
    with its ``run`` and that run's ``learning_rate``."""
    parts = [
        pd.read_csv(p / "training_history.csv").assign(run=p.name, learning_rate=_learning_rate(p))
        for p in sorted(Path(runs).glob(f"{LR_PREFIX}*"))
        if (p / "training_history.csv").is_file()
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def lr_epoch_table(
    histories: pd.DataFrame, published: pd.DataFrame, tolerance: dict
) -> pd.DataFrame:
    """Per run and network of the lr-epochs runs (``lr_histories``): the epochs at which
    its sampled test accuracy and its RMS σ are within tolerance of the published values
    of its column, both at epoch 50, and the product of learning rate and epoch over the
    epochs where both are (``lr_x_epochs_both``: the training length in units of Adam's
    step size, which a drift at a rate set by Adam's step would keep)."""
    rows = []
    pub = published.assign(log10_c=published["log10_c"].round(6)).set_index(
        ["rho", "noise", "log10_c"]
    )
    groups = (
        histories.groupby(["run", "learning_rate", "rho", "noise", "c"]) if len(histories) else []
    )
    for (name, rate, rho, noise, c), g in groups:
        key = (str(rho), noise, round(math.log10(c), 6))
        if key not in pub.index:
            continue
        p_acc, p_sig = 100 * pub.loc[key, "test_accuracy_sampled"], pub.loc[key, "sigma_rms"]
        g = g.sort_values("epoch")
        acc_ok = (100 * g["test_accuracy_sampled"] - p_acc).abs() <= tolerance["accuracy_points"]
        sig_ok = np.log10(g["sigma_rms"] / p_sig).abs() <= tolerance["sigma_decades"]
        tested = g["test_accuracy_sampled"].notna()
        both = g["epoch"][acc_ok & sig_ok & tested].tolist()
        at50 = g[g["epoch"] == 50]
        rows.append(
            {
                "run": name,
                "learning_rate": short_scientific(rate),
                "rho": str(rho),
                "noise": noise,
                "log10_c": key[2],
                "epochs": int(g["epoch"].max()),
                "accuracy_within": _spans(g["epoch"][acc_ok & tested].tolist()),
                "sigma_within": _spans(g["epoch"][sig_ok].tolist()),
                "both_within": _spans(both),
                "lr_x_epochs_both": _product_span(rate, both),
                "both_at_50": bool(len(at50) and 50 in both),
                "accuracy_50": float(100 * at50["test_accuracy_sampled"].iloc[0])
                if len(at50)
                else float("nan"),
                "published_accuracy": float(p_acc),
                "sigma_50": float(at50["sigma_rms"].iloc[0]) if len(at50) else float("nan"),
                "published_sigma": float(p_sig),
                "_rate": rate,
            }
        )
    if not rows:
        return pd.DataFrame(rows)
    table = pd.DataFrame(rows).sort_values(["_rate", "epochs", "rho", "noise"], kind="stable")
    return table.drop(columns="_rate").reset_index(drop=True)


def _product_span(rate: float, epochs: list[int]) -> str:
    """'4.6e-3 – 6e-3': learning rate times the first and the last of ``epochs``."""
    if not epochs:
        return "none"
    return f"{short_scientific(rate * min(epochs))} – {short_scientific(rate * max(epochs))}"


def _spans(epochs: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'; '' for none."""
    if not epochs:
        return "none"
    out, start, last = [], epochs[0], epochs[0]
    for e in epochs[1:]:
        if e == last + 1:
            last = e
            continue
        out.append(f"{start}-{last}" if last > start else f"{start}")
        start = last = e
    out.append(f"{start}-{last}" if last > start else f"{start}")
    return ", ".join(out)


def seed_rows(reproduction: pd.DataFrame) -> pd.DataFrame:
    """The reproduction rows with three seeds or more (accuracy and RMS σ)."""
    rows = reproduction[(reproduction["n_seeds"].fillna(0) >= 3)]
    return rows[rows["quantity"].isin(["test accuracy (%)", "RMS σ"])]


def _markdown(table: pd.DataFrame, floats: str = ".3g") -> str:
    columns = list(table.columns)
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("–" if not math.isfinite(value) else format(value, floats))
            else:
                cells.append(str(value))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def report(runs: Path, published_dir: Path, config: dict) -> Path:
    """Everything docs/reproduction.md shows at paper settings, into runs/as-published/."""
    from ..figures.tradeoff import plot_fig2, plot_fig3

    runs = Path(runs)
    out = runs / UNION
    out.mkdir(parents=True, exist_ok=True)
    published = fig23_table(published_dir, PUBLISHED_GRID)
    tolerance = config["published"]["tolerance"]
    settings = run_settings(config)
    fig2_runs = [name for name in FIG2_RUNS if (runs / name / "training.csv").is_file()]
    tables = read_runs(runs, fig2_runs)
    sections = [f"# The as-published evidence at paper settings\n\nRuns: {', '.join(fig2_runs)}."]
    if "training" in tables:
        training = tables["training"]
        with tempfile.TemporaryDirectory() as tmp:
            plot_fig2(training, Path(tmp) / "fig2.pdf", out / "fig2-paper-settings.png",
                      published=published)  # fmt: skip
            plot_fig3(training, Path(tmp) / "fig3.pdf", out / "fig3-paper-settings.png",
                      published=published)  # fmt: skip
        rows = fig23_rows(training, published, settings, tolerance)
        table = reproduction_table(rows)
        table.to_csv(out / "reproduction.csv", index=False)
        (out / "reproduction.md").write_text(reproduction_markdown(table))
        sections.append("## Reproduction (Figures 2 and 3)\n\n" + _markdown(summary_counts(table)))
        crossing = crossings(training, published)
        crossing.to_csv(out / "crossings.csv", index=False)
        sections.append("## Crossings (log10 c)\n\n" + _markdown(crossing))
        shift = accuracy_as_c_shift(training, published)
        shift.to_csv(out / "accuracy_as_c_shift.csv", index=False)
        if len(shift):
            sections.append(
                "## Accuracy on the fall, read as a shift along c\n\n"
                f"{len(shift)} networks (mean over seeds) between 15 % and 95 %: shift "
                f"median {shift['shift_decades'].abs().median():.3f} decade, largest "
                f"{shift['shift_decades'].abs().max():.3f}.\n\n" + _markdown(shift)
            )
        seeds = seed_rows(table)[
            ["quantity", "rho", "noise", "log10_c", "ours", "ours_sd", "published", "verdict"]
        ]
        seeds.to_csv(out / "seed_spreads.csv", index=False)
        sections.append("## Seed spreads (three seeds)\n\n" + _markdown(seeds))
    union = read_runs(runs, _union_runs(runs))
    curvature = union.get("curvature")
    if curvature is not None:
        table = reproduction_table(
            fig5_rows(curvature, fig5_table(published_dir), settings, tolerance)
        )
        table.to_csv(out / "fig5_reproduction.csv", index=False)
        (out / "fig5_reproduction.md").write_text(reproduction_markdown(table))
        sections.append(
            "## Figure 5 and Appendix 6 fig. 1 (union of the seeds)\n\n"
            + _markdown(summary_counts(table))
        )
    slopes = union.get("posterior_slopes")
    if slopes is not None:
        table = fig7_summary(slopes)
        table.to_csv(out / "fig7_slopes.csv", index=False)
        sections.append("## Figure 7 (union)\n\n" + _markdown(table))
    histories = lr_histories(runs)
    lr = lr_epoch_table(histories, published, tolerance)
    if len(lr):
        lr.to_csv(out / "lr_epochs.csv", index=False)
        from ..figures.drift import plot_lr_epochs

        with tempfile.TemporaryDirectory() as tmp:
            plot_lr_epochs(histories, published, Path(tmp) / "lr-epochs.pdf",
                           out / "lr-epochs.png")  # fmt: skip
        sections.append("## Learning rate × training length\n\n" + _markdown(lr))
    claims = union_claims(union, tables, config)
    claims.to_csv(out / "claims.csv", index=False)
    (out / "claims.md").write_text(claims_markdown(claims))
    groups = independent_claims(claims)
    sections.append(
        "## Claims at paper settings\n\n"
        + ", ".join(f"{k}: {v}" for k, v in groups["outcome"].value_counts().items())
        + " (independent claims)."
    )
    (out / "SUMMARY.md").write_text("\n\n".join(sections) + "\n")
    return out


def _union_runs(runs: Path) -> list[str]:
    """The as-published runs: every run folder but the union's and the lr-epochs runs
    (which change the learning rate)."""
    every = sorted(p.name for p in Path(runs).iterdir() if p.is_dir() and p.name != UNION)
    return [name for name in every if not name.startswith(LR_PREFIX)]


def union_claims(union: dict, fig2: dict, config: dict) -> pd.DataFrame:
    """The claims table over the union of the paper-settings runs (see the module):
    ``union``, the tables of every as-published run (``read_runs`` of ``_union_runs``);
    ``fig2``, those of the Figure 2 runs, whose seed-0 networks carry the Figure 2/3 claims."""
    tables = dict(union)
    if "training" in fig2:
        tables["training"] = fig2["training"][fig2["training"]["seed"] == 0]
    if "training_history" in fig2:
        history = fig2["training_history"]
        tables["training_history"] = history[history["seed"] == 0]
    criteria = config["claims"]
    return claims_table(all_claims(tables, criteria, config["curvature"]["fisher_gradient"]))


def main(argv=None) -> None:
    import yaml

    from ..config import resolve_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="copy a run's compact tables to docs/runs/<name>")
    c.add_argument("run_dir", type=Path)
    c.add_argument("--name", required=True)
    c.add_argument("--out", type=Path, default=Path("docs/runs"))
    c.add_argument("--commit", required=True)
    c.add_argument("--started", required=True)
    c.add_argument("--ended", required=True)
    c.add_argument("--redrawn-at", help="commit whose code redrew its tables and figures")
    r = sub.add_parser("report", help="the union of docs/runs into docs/runs/as-published")
    r.add_argument("--runs", type=Path, default=Path("docs/runs"))
    r.add_argument("--published", type=Path, default=Path("../shared/data/published"))
    r.add_argument("--config", type=Path, default=Path("config.yaml"))
    args = parser.parse_args(argv)
    if args.command == "collect":
        print(
            collect(
                args.run_dir,
                args.name,
                args.out,
                args.commit,
                args.started,
                args.ended,
                args.redrawn_at,
            )
        )
    else:
        config = resolve_config(yaml.safe_load(args.config.read_text()))
        print(report(args.runs, args.published, config))


if __name__ == "__main__":
    main()
