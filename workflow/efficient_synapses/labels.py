"""Path-safe labels of ρ and c (no heavy imports: the Snakefile uses them)."""

from __future__ import annotations

import math
from fractions import Fraction


def parse_rho(text: str | float | int) -> Fraction:
    """Read ρ written as a fraction ("2/3"), a path label ("2_3") or a number."""
    if isinstance(text, int | float):
        return Fraction(text).limit_denominator(1000)
    s = str(text).strip().replace("_", "/")
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError) as err:
        raise ValueError(f"rho {text!r} is not a positive number or fraction like '2/3'") from err
    if value <= 0:
        raise ValueError(f"rho must be positive, got {text!r}")
    return value


def rho_label(rho) -> str:
    """Path-safe label of ρ: 1/2 -> '1_2', 2 -> '2'."""
    f = parse_rho(rho)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}_{f.denominator}"


def c_label(c: float) -> str:
    """Canonical text of c used in paths (6 significant digits)."""
    if not c > 0 or not math.isfinite(c):
        raise ValueError(f"reliability cost multiplier c must be positive and finite, got {c!r}")
    return f"{c:.6g}"
