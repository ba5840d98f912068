"""numba kernels of the fused training step (``fused``): sample, check, update.

Each kernel takes the group's parameters as (K, n_synapses) arrays, one row per network
(``StochasticMLP.flat_mu``: layer by layer, weights then thresholds, the layout of the
noise vector), the gradients as a tuple of (K, n_t) arrays, one per tensor, and runs in
parallel over *jobs*, stretches ``[lo, hi)`` of network k's part of tensor t, which
starts at ``offsets[t]`` of its row (``fused._jobs``). Per-network sums come back per job
(float64) and are added up by the caller. Compiled on first use for float32 and float64
(``kernels``) and cached on disk (numba's ``cache=True``: beside this file, or in the
user's cache folder where this one is not writable; ``NUMBA_CACHE_DIR`` overrides).

What makes them fast (each measured on a 2-core x86 machine, K = 30):
- exp and log as polynomials (Cephes' single-precision ones, within about one unit in
  the last place) with the exponent handled by bit casts: LLVM vectorises them, where the
  wheels' libm calls stay scalar (several times slower than the memory traffic);
- numba's ``error_model="numpy"`` (no check per division) and fast-math flags without
  ``reassoc`` (which would let LLVM simplify the accurate log1p away);
- float32 constants typed as float32 (a float64 literal would move a float32 loop to
  float64);
- the inner loops run over contiguous slices (an offset loop inside ``prange`` is several
  times slower).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from llvmlite import ir
from numba import config, get_thread_id, njit, prange, set_parallel_chunksize
from numba.core import types
from numba.extending import intrinsic, overload

from .regulariser import (
    CHUNK,
    HETEROGENEOUS,
    SHARED,
    SHARED_RMS,
    VARIATIONAL_LAPLACE,
)

# Fast-math flags. The elementary functions keep the order of their operations (the range
# reductions of exp and log need it) and so compile without "reassoc"; each is a function
# of its own, which LLVM inlines with its instructions' flags. The kernels' loops add
# "reassoc", which lets LLVM vectorise their sums. Neither assumes finite values ("nnan",
# "ninf"): the check pass must see NaN and infinity.
MATH_FLAGS = {"nsz", "contract"}
KERNEL_FLAGS = {"reassoc", "nsz", "contract"}
_MATH = {"fastmath": MATH_FLAGS, "error_model": "numpy", "cache": True, "nogil": True}
_OVERLOAD = {"jit_options": {"fastmath": MATH_FLAGS, "error_model": "numpy"}}
_KERNEL = {"fastmath": KERNEL_FLAGS, "error_model": "numpy", "cache": True, "nogil": True}


@intrinsic
def _float_bits(typingctx, x):
    """The bits of a float32 as an int32, of a float64 as an int64 (an LLVM bitcast: free,
    and vectorisable)."""
    if x == types.float32:
        result = types.int32
    elif x == types.float64:
        result = types.int64
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(result.bitwidth))

    return result(x), codegen


@intrinsic
def _bits_float(typingctx, x):
    """The float32 whose bits are the low 32 bits of an integer."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if x.bitwidth > 32:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(x), codegen


F32 = np.float32


@njit(**_MATH)
def expf(x):
    """e^x for float32 x (Cephes expf: within one unit in the last place); +inf above the
    float32 range, the smallest normal float below it."""
    overflow = x > F32(88.72283)
    x = min(max(x, F32(-87.33654)), F32(88.72283))
    n = np.floor(x * F32(1.44269504088896341) + F32(0.5))  # float32 (math.floor: an int)
    r = x - n * F32(0.693359375)
    r = r + n * F32(2.12194440e-4)
    z = r * r
    p = F32(1.9875691500e-4)
    p = p * r + F32(1.3981999507e-3)
    p = p * r + F32(8.3334519073e-3)
    p = p * r + F32(4.1665795894e-2)
    p = p * r + F32(1.6666665459e-1)
    p = p * r + F32(5.0000001201e-1)
    p = p * z + r + F32(1.0)
    value = p * _bits_float((np.int32(n) + np.int32(127)) << np.int32(23))
    return F32(np.inf) if overflow else value


@njit(**_MATH)
def log1pf(e):
    """ln(1 + e) for float32 0 <= e <= 1, accurate for small e without relying on
    (1 + e) - 1: the argument of Cephes' polynomial is e itself (1 + e < √2) or
    (e - 1)/2 (1 + e = 2 (1 + m)), never a rounded 1 + e."""
    high = e >= F32(0.41421356237)
    m = (e - F32(1.0)) * F32(0.5) if high else e
    ef = F32(1.0) if high else F32(0.0)
    z = m * m
    y = F32(7.0376836292e-2)
    y = y * m - F32(1.1514610310e-1)
    y = y * m + F32(1.1676998740e-1)
    y = y * m - F32(1.2420140846e-1)
    y = y * m + F32(1.4249322787e-1)
    y = y * m - F32(1.6668057665e-1)
    y = y * m + F32(2.0000714765e-1)
    y = y * m - F32(2.4999993993e-1)
    y = y * m + F32(3.3333331174e-1)
    y = y * m * z
    y = y - ef * F32(2.12194440e-4)
    y = y - F32(0.5) * z
    return m + y + ef * F32(0.693359375)


@njit(**_MATH)
def logf(x):
    """ln x for float32 x > 0, subnormals included (Cephes logf)."""
    small = x < F32(1.17549435e-38)
    x = x * F32(8388608.0) if small else x
    bits = _float_bits(x)
    e = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(126)
    e = e - np.int32(23) if small else e
    m = _bits_float((bits & np.int32(0x007FFFFF)) | np.int32(0x3F000000))
    below = m < F32(0.707106781186547524)
    ef = F32(e) - (F32(1.0) if below else F32(0.0))
    m = (m + m - F32(1.0)) if below else (m - F32(1.0))
    z = m * m
    y = F32(7.0376836292e-2)
    y = y * m - F32(1.1514610310e-1)
    y = y * m + F32(1.1676998740e-1)
    y = y * m - F32(1.2420140846e-1)
    y = y * m + F32(1.4249322787e-1)
    y = y * m - F32(1.6668057665e-1)
    y = y * m + F32(2.0000714765e-1)
    y = y * m - F32(2.4999993993e-1)
    y = y * m + F32(3.3333331174e-1)
    y = y * m * z
    y = y - ef * F32(2.12194440e-4)
    y = y - F32(0.5) * z
    return m + y + ef * F32(0.693359375)


@njit(**_MATH)
def erff(x):
    """erf x for float32 x: 1 - erfc |x| with the Chebyshev fit of Numerical Recipes'
    erfcc (relative error of erfc below 1.2e-7 everywhere; absolute error of erf below
    3e-7), through the vectorisable ``expf``. Beyond |x| = 9 erfc (< 5e-37) is taken as 0:
    its product with t would be a subnormal float, each operation on which costs the CPU
    about a hundred cycles (a posterior's |μ|/σ is in the hundreds, so nearly every
    synapse would)."""
    z = min(abs(x), F32(9.0))  # computed on both sides of the cut, which stays a select
    t = F32(1.0) / (F32(1.0) + F32(0.5) * z)
    p = F32(0.17087277)
    p = p * t - F32(0.82215223)
    p = p * t + F32(1.48851587)
    p = p * t - F32(1.13520398)
    p = p * t + F32(0.27886807)
    p = p * t - F32(0.18628806)
    p = p * t + F32(0.09678418)
    p = p * t + F32(0.37409196)
    p = p * t + F32(1.00002368)
    p = p * t - F32(1.26551223)
    erfc = t * expf(-z * z + p)
    erfc = erfc if abs(x) < F32(9.0) else F32(0.0)
    value = F32(1.0) - erfc
    return value if x >= F32(0.0) else -value


@njit(**_MATH)
def inverse_cbrtf(x):
    """x^(-1/3) for float32 x > 0: a first guess from the bits (the exponent divided by
    -3), then Newton's iteration y <- y (4 - x y³) / 3, which converges quadratically:
    three steps bring the guess's few per cent to float32 rounding."""
    y = _bits_float(np.int32(0x54A2FA8C) - _float_bits(x) // np.int32(3))
    third = F32(1.0 / 3.0)
    y = y * (F32(4.0) - x * y * y * y) * third
    y = y * (F32(4.0) - x * y * y * y) * third
    y = y * (F32(4.0) - x * y * y * y) * third
    return y


# Constants of the kernels, in float64; ``_like`` gives each the dtype of the data.
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
LOG_2_PI_E = math.log(2.0 * math.pi * math.e)
BLOCK = 256  # summed in the data's dtype, then added in float64


def _float_type(x):
    """The float type of a scalar, or of an array's elements (numba typing)."""
    return x.dtype if isinstance(x, types.Array) else x


def _like(x, value):
    """``value`` as a number of the float type of ``x`` (a scalar or an array): a float32
    kernel stays in float32 (a float64 literal would move its loop to float64)."""


@overload(_like, **_OVERLOAD)
def _like_impl(x, value):
    if _float_type(x) == types.float32:
        return lambda x, value: np.float32(value)
    return lambda x, value: np.float64(value)


def _constants(x):
    """(0, 1, ½) in the float type of ``x``."""


@overload(_constants, **_OVERLOAD)
def _constants_impl(x):
    if _float_type(x) == types.float32:
        return lambda x: (np.float32(0.0), np.float32(1.0), np.float32(0.5))
    return lambda x: (np.float64(0.0), np.float64(1.0), np.float64(0.5))


def _exponent_mask(x):
    """The exponent bits of the float type of ``x``, as the integer of its width."""


@overload(_exponent_mask, **_OVERLOAD)
def _exponent_mask_impl(x):
    if _float_type(x) == types.float32:
        return lambda x: np.int32(0x7F800000)
    return lambda x: np.int64(0x7FF0000000000000)


def _exp(x):
    """e^x: the polynomial ``expf`` in float32, libm in float64."""


@overload(_exp, **_OVERLOAD)
def _exp_impl(x):
    if x == types.float32:
        return lambda x: expf(x)
    return lambda x: math.exp(x)


def _log(x):
    """ln x: the polynomial ``logf`` in float32, libm in float64."""


@overload(_log, **_OVERLOAD)
def _log_impl(x):
    if x == types.float32:
        return lambda x: logf(x)
    return lambda x: math.log(x)


def _log1p(x):
    """ln(1 + x), 0 <= x <= 1: the polynomial ``log1pf`` in float32, libm in float64."""


@overload(_log1p, **_OVERLOAD)
def _log1p_impl(x):
    if x == types.float32:
        return lambda x: log1pf(x)
    return lambda x: math.log1p(x)


def _erf(x):
    """erf x: ``erff`` in float32 (vectorisable), libm in float64."""


@overload(_erf, **_OVERLOAD)
def _erf_impl(x):
    if x == types.float32:
        return lambda x: erff(x)
    return lambda x: math.erf(x)


def _inverse_cbrt(x):
    """x^(-1/3): bits and Newton (``inverse_cbrtf``) in float32, a power in float64."""


@overload(_inverse_cbrt, **_OVERLOAD)
def _inverse_cbrt_impl(x):
    if x == types.float32:
        return lambda x: inverse_cbrtf(x)
    return lambda x: x ** (-1.0 / 3.0)


@njit(**_MATH)
def softplus_parts(phi):
    """(σ = softplus(φ), sigmoid(φ)) from one exp: σ = max(φ, 0) + log1p(e^-|φ|)."""
    zero, one, half = _constants(phi)
    e = _exp(-abs(phi))
    u = one + e
    sigma = max(phi, zero) + _log1p(e)
    sig = one / u if phi >= zero else e / u
    return sigma, sig


@njit(**_MATH)
def power_form(rho):
    """Which closed form computes σ^-ρ: 1 (ρ = 1/2), 2 (ρ = 2), 3 (ρ = 2/3), 4 (ρ = 4/3),
    else 0 (exp and log)."""
    zero, one, half = _constants(rho)
    if rho == _like(zero, 0.5):
        return 1
    if rho == _like(zero, 2.0):
        return 2
    if rho == _like(zero, 2.0 / 3.0):
        return 3
    if rho == _like(zero, 4.0 / 3.0):
        return 4
    return 0


@njit(**_KERNEL)
def block_sum(v):
    zero, one, half = _constants(v)
    acc = zero
    for i in range(v.shape[0]):
        acc += v[i]
    return acc


@njit(**_KERNEL)
def block_sum_abs(v):
    zero, one, half = _constants(v)
    acc = zero
    for i in range(v.shape[0]):
        acc += abs(v[i])
    return acc


@njit(**_KERNEL)
def block_sum_sq(v):
    zero, one, half = _constants(v)
    acc = zero
    for i in range(v.shape[0]):
        acc += v[i] * v[i]
    return acc


@njit(**_KERNEL)
def block_dot(u, v):
    zero, one, half = _constants(u)
    acc = zero
    for i in range(u.shape[0]):
        acc += u[i] * v[i]
    return acc


@njit(**_KERNEL)
def total(v, how):
    """Σ v (how 0), Σ |v| (1) or Σ v² (2) of a slice, blockwise: T within a block,
    float64 across blocks."""
    zero, one, half = _constants(v)
    out = 0.0
    for lo in range(0, v.shape[0], BLOCK):
        part = v[lo : lo + BLOCK]
        if how == 0:
            out += block_sum(part)
        elif how == 1:
            out += block_sum_abs(part)
        else:
            out += block_sum_sq(part)
    return out


@njit(**_KERNEL)
def total_dot(u, v):
    zero, one, half = _constants(u)
    out = 0.0
    for lo in range(0, u.shape[0], BLOCK):
        out += block_dot(u[lo : lo + BLOCK], v[lo : lo + BLOCK])
    return out


@njit(**_MATH)
def power(s, form, r):
    """σ^-ρ: without exp and log for the ρ of the paper (``power_form``); ``r`` = -ρ.
    ``form`` is the same for a whole loop, which LLVM then compiles for that branch."""
    zero, one, half = _constants(s)
    if form == 1:  # ρ = 1/2
        return one / math.sqrt(s)
    if form == 2:  # ρ = 2
        return one / (s * s)
    if form == 3:  # ρ = 2/3
        y = _inverse_cbrt(s)
        return y * y
    if form == 4:  # ρ = 4/3
        return _inverse_cbrt(s) / s
    return _exp(r * _log(s))


@njit(**_KERNEL)
def own_terms(p_row, m_row, x_row, w_row, a_row, b_row, pw_row, s_row, rho, factor, form,
              hetero):  # fmt: skip
    """One loop over a stretch of synapses with their own σ: A, B (see ``sample``),
    σ^-ρ into ``pw_row`` (summed afterwards), and w = μ + σξ (heterogeneous) or σ into
    ``s_row`` (the released code's homogeneous form)."""
    r = -rho
    for i in range(p_row.shape[0]):
        s, sig = softplus_parts(p_row[i])
        pw = power(s, form, r)
        pw_row[i] = pw
        b_row[i] = factor * pw / s * sig
        if hetero:
            a_row[i] = sig
            w_row[i] = m_row[i] + s * x_row[i]
        else:
            a_row[i] = s * sig
            s_row[i] = s


@njit(**_KERNEL)
def variational_terms(m_row, p_row, x_row, w_row, a_row, b_row, c_row, d_row, prior_row,
                      entropic_row, prior_scale, laplace):  # fmt: skip
    """The variational objective's stretch (loops without sums, so that each vectorises):
    w = μ + σξ; A = sigmoid(φ), B = σ, C = erf(z/√2), D = e^(-z²/2) with z = μ/σ; per
    synapse E_Q[-log P(w)] (Eq. 38-39) into ``prior_row`` and C_VI = -½ ln(2πe σ²) (Eq. 41)
    into ``entropic_row``, summed by the caller. D is taken as 0 where z² > 120 (D < 1e-26,
    far below float32's resolution of the terms it enters): products of σ with a D near
    the smallest normal float would be subnormal, about a hundred times slower each."""
    zero, one, half = _constants(m_row)
    bs = prior_scale
    for i in range(m_row.shape[0]):
        s, sig = softplus_parts(p_row[i])
        a_row[i] = sig
        b_row[i] = s
        w_row[i] = m_row[i] + s * x_row[i]
    for i in range(m_row.shape[0]):
        z = m_row[i] / b_row[i]
        c_row[i] = _erf(z * _like(zero, INV_SQRT2))
        zz = z * z
        d = _exp(-half * min(zz, _like(zero, 120.0)))
        d_row[i] = d if zz < _like(zero, 120.0) else zero
    if laplace:
        const = _like(zero, math.log(2.0)) + _log(bs)
        for i in range(m_row.shape[0]):
            gauss_part = b_row[i] * _like(zero, SQRT_2_OVER_PI) * d_row[i]
            prior_row[i] = const + (gauss_part + m_row[i] * c_row[i]) / bs
    else:
        const = half * (_like(zero, math.log(2.0 * math.pi)) + _log(bs * bs))
        for i in range(m_row.shape[0]):
            s = b_row[i]
            prior_row[i] = const + (m_row[i] * m_row[i] + s * s) / (_like(zero, 2.0) * bs * bs)
    for i in range(m_row.shape[0]):
        s = b_row[i]
        entropic_row[i] = -half * (_log(s * s) + _like(zero, LOG_2_PI_E))


@njit(parallel=True, **_KERNEL)
def sample(mu, phi, noise, rows, offsets, kind, shared_sigma, rho, rc, prior_scale, w,
           buf_a, buf_b, buf_c, buf_d, scratch, jobs, part_a, part_b, part_c):  # fmt: skip
    """w = μ + σ ξ (SHARED_RMS: w later, by ``sample_rms``), what the update pass needs
    stored (below), and per job Σ of the regulariser's per-synapse terms (energy: |μ|
    and σ^-ρ of the own σ; variational: E_Q[-log P(w)] and C_VI = -½ ln(2πe σ²)) and
    Σ σ² of the own σ (``part_c``, for σ_rms).

    Stored, so that the update pass needs no elementary function: HETEROGENEOUS: A =
    sigmoid(φ), B = (B/N) ρ c σ^(-ρ-1) sigmoid(φ), so that dL/dφ = dL/dw ξ A - B;
    SHARED_RMS: A = σ sigmoid(φ), B as above, dL/dφ = (the network's factor) A - B;
    variational: A = sigmoid(φ), B = σ, C = erf(z/√2), D = e^(-z²/2), z = μ/σ.
    ``rc``: (B/N) ρ c per network; ``scratch``: (threads, 2, CHUNK) rows of our own."""
    zero, one, half = _constants(mu)
    for j in prange(jobs.shape[0]):
        t, k, lo, hi = jobs[j, 0], jobs[j, 1], jobs[j, 2], jobs[j, 3]
        n = hi - lo
        start = offsets[t] + lo
        m_row = mu[k, start : start + n]
        p_row = phi[k, start : start + n]
        w_row = w[k, start : start + n]
        a_row = buf_a[k, start : start + n]
        b_row = buf_b[k, start : start + n]
        x_row = noise[rows[k], start : start + n]
        code = kind[k]
        b = 0.0
        c2 = 0.0
        if code == SHARED:
            s = shared_sigma[k]
            for i in range(n):
                w_row[i] = m_row[i] + s * x_row[i]
            a = total(m_row, 1)
        elif code == HETEROGENEOUS or code == SHARED_RMS:
            thread = get_thread_id()
            s_tmp = scratch[thread, 0, :n]
            pw_tmp = scratch[thread, 1, :n]
            form = power_form(rho[k])
            hetero = code == HETEROGENEOUS
            # one loop per (form, setting), each compiled for its branch
            if form == 1:
                own_terms(p_row, m_row, x_row, w_row, a_row, b_row, pw_tmp, s_tmp,
                          rho[k], rc[k], 1, hetero)  # fmt: skip
            elif form == 2:
                own_terms(p_row, m_row, x_row, w_row, a_row, b_row, pw_tmp, s_tmp,
                          rho[k], rc[k], 2, hetero)  # fmt: skip
            elif form == 3:
                own_terms(p_row, m_row, x_row, w_row, a_row, b_row, pw_tmp, s_tmp,
                          rho[k], rc[k], 3, hetero)  # fmt: skip
            elif form == 4:
                own_terms(p_row, m_row, x_row, w_row, a_row, b_row, pw_tmp, s_tmp,
                          rho[k], rc[k], 4, hetero)  # fmt: skip
            else:
                own_terms(p_row, m_row, x_row, w_row, a_row, b_row, pw_tmp, s_tmp,
                          rho[k], rc[k], 0, hetero)  # fmt: skip
            if not hetero:
                c2 = total(s_tmp, 2)
            a = total(m_row, 1)
            b = total(pw_tmp, 0)
        else:
            c_row = buf_c[k, start : start + n]
            d_row = buf_d[k, start : start + n]
            thread = get_thread_id()
            prior_row = scratch[thread, 0, :n]
            entropic_row = scratch[thread, 1, :n]
            variational_terms(m_row, p_row, x_row, w_row, a_row, b_row, c_row, d_row,
                              prior_row, entropic_row, prior_scale,
                              code == VARIATIONAL_LAPLACE)  # fmt: skip
            a = total(prior_row, 0)
            b = total(entropic_row, 0)
        part_a[j] = a
        part_b[j] = b
        part_c[j] = c2


@njit(parallel=True, **_KERNEL)
def sample_rms(mu, noise, rows, offsets, kind, shared_sigma, w, jobs):
    """w = μ + σ_rms ξ of the released code's homogeneous networks."""
    zero, one, half = _constants(mu)
    for j in prange(jobs.shape[0]):
        t, k, lo, hi = jobs[j, 0], jobs[j, 1], jobs[j, 2], jobs[j, 3]
        n = hi - lo
        start = offsets[t] + lo
        if kind[k] != SHARED_RMS:
            continue
        m_row = mu[k, start : start + n]
        w_row = w[k, start : start + n]
        x_row = noise[rows[k], start : start + n]
        s = shared_sigma[k]
        for i in range(m_row.shape[0]):
            w_row[i] = m_row[i] + s * x_row[i]


@njit(parallel=True, **_KERNEL)
def check(grads, noise, rows, offsets, need_gx, jobs, finite, gx):
    """Per job: every gradient finite; Σ dL/dw ξ where ``need_gx`` (homogeneous)."""
    zero, one, half = _constants(noise)
    for j in prange(jobs.shape[0]):
        t, k, lo, hi = jobs[j, 0], jobs[j, 1], jobs[j, 2], jobs[j, 3]
        n = hi - lo
        start = offsets[t] + lo
        g_row = grads[t][k, lo:hi]
        # the exponent bits all set: an infinity or a NaN; the largest masked value, so
        # an integer maximum tells (vectorised)
        mask = _exponent_mask(g_row)
        largest = mask - mask
        for i in range(g_row.shape[0]):
            largest = max(largest, _float_bits(g_row[i]) & mask)
        finite[j] = largest != mask
        if need_gx[k]:
            gx[j] = total_dot(g_row, noise[rows[k], start : start + n])


@njit(**_MATH)
def adam_step(p, g, m, v, beta1, beta2, c1, c2, eps, step, inv_bc2):
    """One element of torch.optim.Adam: (new parameter, new m, new v)."""
    zero, one, half = _constants(p)
    m = beta1 * m + c1 * g
    v = beta2 * v + c2 * g * g
    return p - step * m / (math.sqrt(v) * inv_bc2 + eps), m, v


@njit(parallel=True, **_KERNEL)
def update(mu, phi, grads, m_mu, v_mu, m_phi, v_phi, noise, rows, offsets, kind, alive,
           coef, lam_w, prior_scale, weight, beta1, beta2, eps, step_mean, step_noise,
           inv_bc2, buf_a, buf_b, buf_c, buf_d, jobs):  # fmt: skip
    """dL/dμ, dL/dφ by formula from what ``sample`` stored, and Adam on μ and φ
    (torch.optim.Adam's arithmetic), in one loop per stretch; a network not ``alive``
    keeps μ and φ, its first moments are set to 0 and its second moments decay, as a
    zero gradient would leave them. ``lam_w``: (B/N) λ."""
    zero, one, half = _constants(mu)
    c1 = one - beta1
    c2 = one - beta2
    for j in prange(jobs.shape[0]):
        t, k, lo, hi = jobs[j, 0], jobs[j, 1], jobs[j, 2], jobs[j, 3]
        n = hi - lo
        start = offsets[t] + lo
        m_row = mu[k, start : start + n]
        p_row = phi[k, start : start + n]
        mm_row = m_mu[k, start : start + n]
        vm_row = v_mu[k, start : start + n]
        mp_row = m_phi[k, start : start + n]
        vp_row = v_phi[k, start : start + n]
        code = kind[k]
        if not alive[k]:
            for i in range(n):
                mm_row[i] = zero
                vm_row[i] = beta2 * vm_row[i]
            if code != SHARED:
                for i in range(n):
                    mp_row[i] = zero
                    vp_row[i] = beta2 * vp_row[i]
            continue
        g_row = grads[t][k, lo:hi]
        a_row = buf_a[k, start : start + n]
        b_row = buf_b[k, start : start + n]
        x_row = noise[rows[k], start : start + n]
        if code == SHARED:  # its φ_i are unused: no gradient, no update
            for i in range(n):
                mu_i = m_row[i]
                sgn = one if mu_i > zero else (-one if mu_i < zero else zero)
                m_row[i], mm_row[i], vm_row[i] = adam_step(
                    mu_i, g_row[i] + lam_w * sgn, mm_row[i], vm_row[i], beta1, beta2, c1,
                    c2, eps, step_mean, inv_bc2,
                )  # fmt: skip
        elif code == HETEROGENEOUS:
            for i in range(n):
                mu_i = m_row[i]
                g = g_row[i]
                sgn = one if mu_i > zero else (-one if mu_i < zero else zero)
                m_row[i], mm_row[i], vm_row[i] = adam_step(
                    mu_i, g + lam_w * sgn, mm_row[i], vm_row[i], beta1, beta2, c1, c2,
                    eps, step_mean, inv_bc2,
                )  # fmt: skip
                p_row[i], mp_row[i], vp_row[i] = adam_step(
                    p_row[i], g * x_row[i] * a_row[i] - b_row[i], mp_row[i], vp_row[i],
                    beta1, beta2, c1, c2, eps, step_noise, inv_bc2,
                )  # fmt: skip
        elif code == SHARED_RMS:  # through σ_rms, and each σ_i's own cost
            own = coef[k]
            for i in range(n):
                mu_i = m_row[i]
                sgn = one if mu_i > zero else (-one if mu_i < zero else zero)
                m_row[i], mm_row[i], vm_row[i] = adam_step(
                    mu_i, g_row[i] + lam_w * sgn, mm_row[i], vm_row[i], beta1, beta2, c1,
                    c2, eps, step_mean, inv_bc2,
                )  # fmt: skip
                p_row[i], mp_row[i], vp_row[i] = adam_step(
                    p_row[i], own * a_row[i] - b_row[i], mp_row[i], vp_row[i], beta1,
                    beta2, c1, c2, eps, step_noise, inv_bc2,
                )  # fmt: skip
        else:
            bs = prior_scale
            laplace = code == VARIATIONAL_LAPLACE
            c_row = buf_c[k, start : start + n]
            d_row = buf_d[k, start : start + n]
            for i in range(n):
                mu_i = m_row[i]
                s = b_row[i]
                g = g_row[i]
                d_mu = c_row[i] / bs if laplace else mu_i / (bs * bs)
                d_s = _like(zero, SQRT_2_OVER_PI) * d_row[i] / bs if laplace else s / (bs * bs)
                m_row[i], mm_row[i], vm_row[i] = adam_step(
                    mu_i, g + weight * d_mu, mm_row[i], vm_row[i], beta1, beta2, c1, c2,
                    eps, step_mean, inv_bc2,
                )  # fmt: skip
                g_phi = (g * x_row[i] + weight * (d_s - one / s)) * a_row[i]
                p_row[i], mp_row[i], vp_row[i] = adam_step(
                    p_row[i], g_phi, mp_row[i], vp_row[i], beta1, beta2, c1, c2, eps,
                    step_noise, inv_bc2,
                )  # fmt: skip


class _Kernels:
    """The kernels (module functions; numba compiles them per dtype)."""

    sample = None
    sample_rms = None
    check = None
    update = None


def kernels(dtype):
    """The kernels for ``np.float32`` (polynomial exp and log) or ``np.float64`` (libm)."""
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"the fused step supports float32 and float64, not {dtype}")
    return _KERNELS


_KERNELS = _Kernels()
_KERNELS.sample = sample
_KERNELS.sample_rms = sample_rms
_KERNELS.check = check
_KERNELS.update = update


# --- the passes of a group, as ``fused.FusedStep`` calls them --------------------------------


def _jobs(sizes: list[int], k: int, chunk: int = CHUNK) -> np.ndarray:
    """(tensor, network, start, stop) of every parallel job: each network's part of each
    tensor cut into stretches of at most ``chunk``."""
    rows = []
    for t, n in enumerate(sizes):
        for net in range(k):
            for lo in range(0, n, chunk):
                rows.append((t, net, lo, min(lo + chunk, n)))
    return np.asarray(rows, dtype=np.int64)


def _per_network(partial: np.ndarray, jobs: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(k)
    np.add.at(out, jobs[:, 1], partial)
    return out


class NumbaPasses:
    """The passes as numba kernels (``fused_numba``): one call per pass for the whole group,
    parallel over stretches of the networks' rows, Adam inside the update pass."""

    name = "numba"

    def __init__(self, model, reg, state):
        self.model, self.reg, self.state = model, reg, state
        dtype = np.float32 if model.flat_mu.dtype == torch.float32 else np.float64
        self.dtype = dtype
        self.kernels = kernels(dtype)
        self.kind = np.asarray(reg.kind, dtype=np.int64)
        rho, c = np.asarray(reg.rho), np.asarray(reg.c)
        self.rho = rho.astype(dtype)
        self.rc = (reg.dataset_weight * rho * c).astype(dtype)
        sizes = [p[0].numel() for pair in model.means() for p in pair]
        self.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.jobs = _jobs(sizes, model.n_networks)
        self.k = model.n_networks
        self.n_synapses = model.n_synapses
        self.need_gx = np.isin(self.kind, (SHARED, SHARED_RMS))
        self.any_rms = bool((self.kind == SHARED_RMS).any())
        self.mu, self.phi = model.flat_mu.numpy(), model.flat_phi.numpy()
        self.m_mu, self.v_mu = state.m_mu.numpy(), state.v_mu.numpy()
        self.m_phi, self.v_phi = state.m_phi.numpy(), state.v_phi.numpy()
        # What the sampling pass stores for the update pass (fused_numba's ``sample``).
        self.buf_a, self.buf_b = np.zeros_like(self.mu), np.zeros_like(self.mu)
        variational = reg.variational
        self.buf_c = np.zeros_like(self.mu) if variational else self.buf_a
        self.buf_d = np.zeros_like(self.mu) if variational else self.buf_b
        # Rows of each of numba's threads' own.
        self.scratch = np.zeros((config.NUMBA_NUM_THREADS, 2, CHUNK), dtype=dtype)

    def sample(self, noise: torch.Tensor, rows: torch.Tensor, shared_sigma: torch.Tensor, w):
        """w (written into the tensor ``w``) and per network Σ of the regulariser's two
        terms; and ``shared_sigma`` (K,) with σ_rms of the released code's homogeneous
        networks (float64 tensors)."""
        noise, rows = noise.numpy(), rows.numpy()
        shared = shared_sigma.numpy().copy()
        n_jobs = len(self.jobs)
        part_a, part_b, part_c = np.zeros(n_jobs), np.zeros(n_jobs), np.zeros(n_jobs)
        t = self.dtype
        w = w.detach().numpy()
        set_parallel_chunksize(1)  # jobs differ in size: each thread takes the next
        self.kernels.sample(
            self.mu, self.phi, noise, rows, self.offsets, self.kind,
            shared.astype(t), self.rho, self.rc, t(self.reg.prior_scale), w,
            self.buf_a, self.buf_b, self.buf_c, self.buf_d, self.scratch, self.jobs, part_a,
            part_b, part_c,
        )  # fmt: skip
        if self.any_rms:
            sum_sq = _per_network(part_c, self.jobs, self.k)
            rms = np.sqrt(sum_sq / self.n_synapses)
            shared[:] = np.where(self.kind == SHARED_RMS, rms, shared)
            self.kernels.sample_rms(
                self.mu, noise, rows, self.offsets, self.kind, shared.astype(t), w, self.jobs
            )
        return (
            torch.from_numpy(_per_network(part_a, self.jobs, self.k)),
            torch.from_numpy(_per_network(part_b, self.jobs, self.k)),
            torch.from_numpy(shared),
        )

    def check(self, grads, noise, rows, need_gx: bool):
        """Per network (tensors): every gradient finite; Σ dL/dw ξ (homogeneous ones)."""
        grads = tuple(g.detach().view(self.k, -1).numpy() for g in grads)
        self._grads = grads
        finite = np.ones(len(self.jobs), dtype=np.bool_)
        gx = np.zeros(len(self.jobs))
        want = self.need_gx if need_gx else np.zeros(self.k, dtype=np.bool_)
        set_parallel_chunksize(1)  # jobs differ in size: each thread takes the next
        self.kernels.check(
            grads, noise.numpy(), rows.numpy(), self.offsets, want, self.jobs, finite, gx
        )
        per_net = np.ones(self.k, dtype=np.bool_)
        np.logical_and.at(per_net, self.jobs[:, 1], finite)
        return torch.from_numpy(per_net), torch.from_numpy(_per_network(gx, self.jobs, self.k))

    def update(self, grads, noise, rows, alive, coef) -> None:
        """The update pass (Adam inside) for the networks ``alive`` marks; ``coef``: (K,)
        the released code's homogeneous factor, or None."""
        state = self.state
        settings, scalars, t = state.settings, state.scalars(), self.dtype
        grads = tuple(g.detach().view(self.k, -1).numpy() for g in grads)
        coef = np.zeros(self.k) if coef is None else coef.numpy()
        set_parallel_chunksize(1)  # jobs differ in size: each thread takes the next
        self.kernels.update(
            self.mu, self.phi, grads, self.m_mu, self.v_mu, self.m_phi, self.v_phi,
            noise.numpy(), rows.numpy(), self.offsets, self.kind,
            alive.numpy().astype(np.bool_), coef.astype(t),
            t(self.reg.dataset_weight * self.reg.magnitude_lambda), t(self.reg.prior_scale),
            t(self.reg.dataset_weight), t(settings.betas[0]), t(settings.betas[1]),
            t(settings.eps), t(scalars["step_mean"]), t(scalars["step_noise"]),
            t(1.0 / scalars["bc2_sqrt"]), self.buf_a, self.buf_b, self.buf_c, self.buf_d,
            self.jobs,
        )  # fmt: skip
