"""Claims of Figure 6 (Sjöström, Ko) and Appendix 5's comparison of the biological slope
with the analytic ones, from experimental.csv and nohidden_slopes.csv.

Evidence groups: the Sjöström Pearson and Spearman r come from the same 30 recordings (one
group); the Ko slope's sign and its value are one number (one group). Appendix 5's
comparison of that slope with the predictions of each ρ is a claim of its own.
"""

from __future__ import annotations

import pandas as pd

from ..costs import analytic_slopes
from ..statistics import mean_sd
from .core import PAPER, REPORTED, ClaimResult

QUOTE_KO = (
    'Figure 6 legend: "As input firing rates are increased, normalised EPSP variability '
    'decreases with slope=0.62 (Aitchison et al., 2021)"'
)
QUOTE_APPENDIX5 = (
    'Appendix 5: "the biological slopes tend to match the ρ=2 better than the other values for ρ"'
)
KO_GROUP = "Fig. 6b Ko slope"
RHOS = {"1/2": 0.5, "2/3": 2 / 3, "4/3": 4 / 3, "2": 2.0}


def _experimental_row(table, dataset, quantity):
    row = table[(table["dataset"] == dataset) & (table["quantity"] == quantity)]
    if len(row) != 1:
        raise KeyError(
            f"experimental.csv has {len(row)} rows for dataset {dataset!r}, quantity "
            f"{quantity!r}; expected exactly one"
        )
    return row.iloc[0]


def experimental_claims(
    table: pd.DataFrame, paper_slope: float, tolerance: float, normalisation: str
) -> list[ClaimResult]:
    """Fig. 6: the signs of the Sjöström correlations and of the Ko slope (intervals
    excluding 0), and the Ko slope within ``tolerance`` of the paper's -``paper_slope``
    with the normalisation ``normalisation`` of EPSP variability."""
    return sjostrom_claims(table) + ko_claims(table, paper_slope, tolerance, normalisation)


def sjostrom_claims(table: pd.DataFrame) -> list[ClaimResult]:
    """Fig. 6a: Pearson and Spearman r of LTP below 0, bootstrap intervals excluding 0."""
    rows = []
    for quantity in ("pearson_r", "spearman_r"):
        r = _experimental_row(table, "sjostrom2001_ltp", quantity)
        rows.append(
            ClaimResult(
                PAPER,
                f"sjostrom_ltp_{quantity}",
                "Synapses with higher release probability change less under LTP",
                'Figure 6 legend: "Synapses with higher probability of release, p, '
                "demonstrate smaller increases in synaptic mean following long-term "
                'plasticity (LTP) induction"',
                "fig6",
                f"Sjöström LTP, n = {int(r['n'])}",
                f"{quantity}(Pr before, relative weight change) [{r['ci_low']:.2f}, "
                f"{r['ci_high']:.2f}]",
                float(r["value"]),
                float("nan"),
                0,
                "r < 0 and its bootstrap interval excludes 0",
                bool(r["value"] < 0 and r["ci_high"] < 0),
                evidence="Fig. 6a Sjöström LTP",
                fails_if="the correlation is not negative or its 95 % interval reaches 0",
            )
        )
    return rows


def ko_claims(
    table: pd.DataFrame, paper_slope: float, tolerance: float, normalisation: str
) -> list[ClaimResult]:
    """Fig. 6b: the Ko slope below 0 (interval excluding 0) and within ``tolerance`` of
    -``paper_slope``, EPSP variability normalised as ``normalisation`` (the paper names no
    normalisation: the rows say so, and report the var/mean slope beside)."""
    r = _experimental_row(table, "ko2013", f"loglog_slope[{normalisation}]")
    interval = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
    conditional = f"; conditional on normalising EPSP variability as {normalisation}"
    rows = [
        ClaimResult(
            PAPER,
            "ko_slope_negative",
            "Normalised EPSP variability falls with presynaptic firing rate",
            QUOTE_KO,
            "fig6",
            f"Ko et al., n = {int(r['n'])}{conditional}",
            f"log-log slope of {normalisation} on rate {interval}",
            float(r["value"]),
            float("nan"),
            0,
            "slope < 0 and its bootstrap interval excludes 0",
            bool(r["value"] < 0 and r["ci_high"] < 0),
            evidence=KO_GROUP,
            fails_if="the slope is not negative or its 95 % interval reaches 0",
        ),
        ClaimResult(
            PAPER,
            "ko_slope_reproduced",
            f"The Ko slope is -{paper_slope:g}, as the paper reports",
            QUOTE_KO,
            "fig6",
            f"Ko et al., n = {int(r['n'])}{conditional}",
            f"log-log slope of {normalisation} on rate",
            float(r["value"]),
            float("nan"),
            0,
            f"|slope + {paper_slope:g}| ≤ {tolerance:g}",
            bool(abs(r["value"] + paper_slope) <= tolerance),
            evidence=KO_GROUP,
            fails_if=f"the slope differs from -{paper_slope:g} by more than {tolerance:g}",
        ),
    ]
    for other in ("var/mean", "sd/mean"):
        if other == normalisation:
            continue
        try:
            o = _experimental_row(table, "ko2013", f"loglog_slope[{other}]")
        except KeyError:
            continue
        rows.append(
            ClaimResult(
                REPORTED,
                "ko_slope_other_normalisation",
                f"The Ko slope with EPSP variability normalised as {other}",
                QUOTE_KO,
                "fig6",
                f"Ko et al., n = {int(o['n'])}",
                f"log-log slope of {other} on rate [{o['ci_low']:.2f}, {o['ci_high']:.2f}]",
                float(o["value"]),
                float("nan"),
                0,
                f"none: reported next to -{paper_slope:g}",
                None,
                -paper_slope,
            )
        )
    return rows


def biological_slope_claims(
    experimental: pd.DataFrame, nohidden: pd.DataFrame | None, normalisation: str
) -> list[ClaimResult]:
    """Appendix 5: the biological slope lies nearer the ρ = 2 prediction than any other ρ.

    The biological slope is the Ko slope (Fig. 6b, the red line of Appendix 5 fig. 1: log σ²
    on log <x²> has the slope of log σ on log |x|); the predictions are Eq. 54b's
    -2/(ρ+2) for ρ = 1/2, 2/3, 4/3, 2. The simulated slopes of the network with no hidden
    layer, where given, are reported beside.
    """
    r = _experimental_row(experimental, "ko2013", f"loglog_slope[{normalisation}]")
    slope = float(r["value"])
    analytic = {rho: analytic_slopes(v)["input_rate_squared"] for rho, v in RHOS.items()}
    distance = {rho: abs(slope - a) for rho, a in analytic.items()}
    nearest = min(distance, key=distance.get)
    rows = [
        ClaimResult(
            PAPER,
            "biological_slope_nearest_rho_2",
            "The biological slope matches the ρ = 2 prediction better than the other ρ",
            QUOTE_APPENDIX5,
            "figA5_1",
            f"Ko slope {slope:.3f} ({normalisation}) against Eq. 54b's -2/(ρ+2): "
            + ", ".join(f"ρ={k} {v:.3f}" for k, v in analytic.items())
            + f"; nearest ρ = {nearest}",
            "|Ko slope - (-2/(2+2))|, distance to the ρ = 2 prediction",
            distance["2"],
            float("nan"),
            0,
            "the ρ = 2 prediction is the nearest of the four",
            nearest == "2",
            reference=analytic["2"],
            evidence="Appendix 5 biological slope against the predictions of each ρ",
            fails_if="another ρ's predicted slope lies nearer the Ko slope",
        )
    ]
    if nohidden is not None and len(nohidden):
        sims = nohidden[nohidden["quantity"] == "input_sq"].copy()
        sims["rho"] = sims["rho"].astype(str)
        for rho, g in sims.groupby("rho", sort=False):
            rows.append(
                ClaimResult(
                    REPORTED,
                    "nohidden_input_slope_vs_biological",
                    "Simulated slope of log σ² on log <x²> (no hidden layer), beside the Ko slope",
                    QUOTE_APPENDIX5,
                    "figA5_1",
                    f"rho={rho}",
                    "least-squares slope of log σ² on log <x²>",
                    *mean_sd(g.groupby("seed")["slope"].mean()),
                    int(g["seed"].nunique()),
                    f"none: reported next to the Ko slope {slope:.3f}",
                    None,
                    slope,
                )
            )
    return rows
