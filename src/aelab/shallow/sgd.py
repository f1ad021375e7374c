"""Online SGD of shallow autoencoders on Gaussian inputs, fast (numba) and plain (NumPy).

The simulator works in the eigenbasis of the input covariance: x = sqrt(rho) * xi with
xi ~ N(0, I_D). SGD is equivariant under rotations of the input space (W -> W O, x -> O^T x),
and i.i.d. Gaussian initial weights are rotation invariant, so this is exactly SGD on
N(0, Omega) in distribution, at the cost of D multiplications per sample.

One step on a fresh sample x, with e = x - x_hat and h_k = v_k . e / D (Refinetti & Goldt 2022):
    untied:  v_k += (lr/D) g(lambda_k) e,        lambda_k = w_k . x / sqrt(D) + b_k
             w_k += (lr/D) g'(lambda_k) h_k x / sqrt(D)
             b_k += (lr/D) g'(lambda_k) h_k
    tied:    v_k += (lr/D) (g(lambda_k) e + g'(lambda_k) h_k x),   lambda_k = v_k . x / D + b_k
    truncated: unit k uses e_k = x - sum_{a <= k} v_a g(lambda_a) in place of e.
Weight decay kappa multiplies every parameter by (1 - lr kappa / D) per step.

The compiled step (:func:`sgd_steps`) makes one pass over the D inputs per step for one or two
units: the decoder update of step s, the encoder update of step s - 1 (it needs h of that step,
known only at the end of its pass) and the projection of step s + 1 share the pass, the last
corrected afterwards by c_s (x_s . x_{s+1}) for the encoder update of step s. More units run in
two passes per step, units in pairs (the comments above the kernels).

Denoising autoencoders (docs/shallow-denoising.md): the network sees x_tilde = x + sqrt(Delta) xi
(xi a second block of standard normals) in every place where it sees x above, the target stays x,
x_hat = s x_tilde + sum_k v_k g(lambda_k), and the skip moves by s += (lr/D) (e . x_tilde) / D.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from aelab._kernel_cache import guard
from aelab.activations import Activation
from aelab.compiled_activations import act_fdf, compiled_code

guard("shallow")  # compiled code that inlines a changed module of the group is dropped

__all__ = ["sgd_steps", "sgd_steps_numpy"]

_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}  # reductions vectorise; NaN and infinity keep their meaning


# Two kernels share the step. Both work on a copy of the weights and std in a workspace whose rows
# start on 32-byte boundaries, 576 bytes apart modulo 4 KiB (_row_stride): NumPy's arrays start on
# 16-byte boundaries, and on the development machine (AMD Zen 4, AVX-512) vector loads and stores
# that straddle a 32-byte boundary, or rows whose addresses coincide in the low 12 bits, slowed the
# passes by up to 40 %, depending on where the weights happened to be allocated.
#
# _kernel_pair (K <= 2, the common case) makes one pass over the D inputs per step. The decoder pass
# of step s and the projection of step s + 1 share it: the encoder update of step s is E += c_s x_s
# with c_s known only after h_s (the end of the pass), so the pass projects on E before that update
# and adds it afterwards, lambda_{s+1} = E . x_{s+1} + c_s (x_s . x_{s+1}); the update itself is
# applied in the next pass. The samples are formed from Z three times (x_{s-1}, x_s, x_{s+1}) rather
# than stored: a store costs more than two multiplications here. Weight decay is a scalar: the
# weights are sw times the stored rows, so it costs nothing per input. K = 1 runs as a pair with a
# unit of zero weights.
#
# _kernel (any K) makes two passes over the D inputs per step, each for a pair of units:
#   1. the encoder update of the previous step, deferred to this pass (it needs h of the previous
#      step), is applied while the new sample x = std * z is formed and projected: lambda = E . x;
#   2. the residual e = x - sum_k g_k v_k, h_k = v_k . e and the decoder update v_k += (lr/D) g_k e.
# Pairs keep the loops free of a run-time unit loop, so that they vectorise.
@numba.njit(cache=True)
def _row_stride(n, itemsize):  # pragma: no cover - jitted
    """A workspace row length >= n whose rows are 576 bytes (nine cache lines) apart modulo 4 KiB."""
    per_page = 4096 // itemsize
    return n + (576 // itemsize - n) % per_page


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, inline="always")
def _project_pair(Ea, Eb, x, z, std, shrink, ca, cb, zero):  # pragma: no cover - jitted
    """E <- shrink E + c x (pending update), x <- std * z (in place), return (Ea . x, Eb . x).

    ``zero``: 0 in the weights' precision (float64, or float32 for float32 weights)."""
    la = zero
    lb = zero
    if shrink == 1.0:  # no weight decay: one multiplication less per weight (a quarter of the pass)
        for i in range(x.shape[0]):
            xi = std[i] * z[i]
            xo = x[i]
            x[i] = xi
            a = Ea[i] + ca * xo
            b = Eb[i] + cb * xo
            Ea[i] = a
            Eb[i] = b
            la += a * xi
            lb += b * xi
        return la, lb
    for i in range(x.shape[0]):
        xi = std[i] * z[i]
        xo = x[i]
        x[i] = xi
        a = Ea[i] * shrink + ca * xo
        b = Eb[i] * shrink + cb * xo
        Ea[i] = a
        Eb[i] = b
        la += a * xi
        lb += b * xi
    return la, lb


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, inline="always")
def _decode_pair(x, Va, Vb, ga, gb, shrink, ua, ub, zero):  # pragma: no cover - jitted
    """e = x - ga Va - gb Vb; return (Va . e, Vb . e) and update V <- shrink V + u e."""
    ha = zero
    hb = zero
    if shrink == 1.0:  # no weight decay (as in _project_pair)
        for i in range(x.shape[0]):
            va = Va[i]
            vb = Vb[i]
            ei = x[i] - ga * va - gb * vb
            ha += va * ei
            hb += vb * ei
            Va[i] = va + ua * ei
            Vb[i] = vb + ub * ei
        return ha, hb
    for i in range(x.shape[0]):
        va = Va[i]
        vb = Vb[i]
        ei = x[i] - ga * va - gb * vb
        ha += va * ei
        hb += vb * ei
        Va[i] = va * shrink + ua * ei
        Vb[i] = vb * shrink + ub * ei
    return ha, hb


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, inline="always")
def _residual_pair(e, Va, Vb, ga, gb):  # pragma: no cover - jitted
    for i in range(e.shape[0]):
        e[i] = e[i] - ga * Va[i] - gb * Vb[i]


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False)
def _kernel(W0, V0, bias, Z, std0, lr, code, p, tied, train_bias, decay):  # pragma: no cover - jitted
    n_steps, D = Z.shape
    K = V0.shape[0]
    # the workspace (rows of length >= D): W, V, std, the sample x, two scratch rows
    ws = np.zeros((2 * K + 4, _row_stride(D, V0.itemsize)), V0.dtype)
    ws[:K, :D] = W0
    ws[K:2 * K, :D] = V0
    ws[2 * K, :D] = std0
    W = ws[:K]
    V = ws[K:2 * K]
    std = ws[2 * K]
    E = V if tied else W  # the encoder rows
    x = ws[2 * K + 1, :D]  # the previous sample until pass 1 overwrites it
    t = ws[2 * K + 2, :D]
    e = ws[2 * K + 3, :D]
    gk = np.empty(K)
    dgk = np.empty(K)
    hk = np.zeros(K)
    # the coefficients of the passes in the weights' precision (a float64 scalar would promote a
    # float32 loop): g, the decoder step (lr/D) g, the pending encoder update; shrink factors
    cg = np.zeros(K, V.dtype)
    cu = np.zeros(K, V.dtype)
    ck = np.zeros(K, V.dtype)
    sh = np.ones(2, V.dtype)
    zero = x[0]
    inv_sqrt_d = 1.0 / math.sqrt(D)
    inv_d = 1.0 / D
    step = lr * inv_d
    shrink = 1.0 - lr * decay * inv_d
    scale = inv_d if tied else inv_sqrt_d
    # sh[1], ck: the pending encoder update E <- sh[1] E + ck x_old (untied: W's whole step; tied: V's g' h x term)
    sh[0] = shrink
    pairs = (K + 1) // 2
    for s in range(n_steps):
        z = Z[s]
        for j in range(pairs - 1, -1, -1):
            a = 2 * j
            b = min(a + 1, K - 1)
            if j > 0:  # x must stay the old sample for the pairs still to come
                t[:] = x
                la, lb = _project_pair(E[a], E[b], t, z, std, sh[1], ck[a], ck[b], zero)
            else:
                la, lb = _project_pair(E[a], E[b], x, z, std, sh[1], ck[a], ck[b], zero)
            gk[a], dgk[a] = act_fdf(code, p, la * scale + bias[a])
            gk[b], dgk[b] = act_fdf(code, p, lb * scale + bias[b])
        for k in range(K):
            cg[k] = gk[k]
            cu[k] = step * gk[k]
        if pairs == 1:
            b = K - 1
            hk[0], hk[b] = _decode_pair(x, V[0], V[b], cg[0], cg[b] if b else zero, sh[0], cu[0], cu[b], zero)
        else:
            e[:] = x
            for j in range(pairs):
                a = 2 * j
                b = min(a + 1, K - 1)
                _residual_pair(e, V[a], V[b], cg[a], cg[b] if b != a else zero)
            for j in range(pairs):
                a = 2 * j
                b = min(a + 1, K - 1)
                hk[a], hk[b] = _decode_pair(e, V[a], V[b], zero, zero, sh[0], cu[a], cu[b], zero)
        for k in range(K):
            c = step * dgk[k] * hk[k] * inv_d
            if train_bias:
                bias[k] += c
            ck[k] = c if tied else c * inv_sqrt_d
        sh[1] = 1.0 if tied else shrink
    for k in range(K):  # the last pending encoder update
        Ek = E[k]
        c = ck[k]
        s_e = sh[1]
        for i in range(D):
            Ek[i] = Ek[i] * s_e + c * x[i]
    W0[:, :] = W[:, :D]
    V0[:, :] = V[:, :D]


#: _kernel_pair's workspace rows: the encoder pair (untied), the decoder pair, std
_EA, _EB, _VA, _VB, _STD = range(5)


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, inline="always")
def _pair_pass(ws, Z, sp, sc, sn, c, tied, zero):  # pragma: no cover - jitted
    """The pass of step s over the inputs for the pair of units in ``ws``, with x_r = std * Z[r]:
    apply the pending encoder update E += (c[0], c[1]) x_sp, form e = x_sc - c[2] Va - c[3] Vb,
    update V += (c[4], c[5]) e, and return (Va . e, Vb . e, Ea . x_sn, Eb . x_sn, x_sc . x_sn)
    with V before its update and E after the pending one (tied: E = V, after both)."""
    cpa, cpb, ga, gb, ua, ub = c[0], c[1], c[2], c[3], c[4], c[5]
    ha = zero
    hb = zero
    pa = zero
    pb = zero
    q = zero
    if tied:
        for i in range(Z.shape[1]):
            si = ws[_STD, i]
            x1 = si * Z[sn, i]
            x0 = si * Z[sc, i]
            xo = si * Z[sp, i]
            va = ws[_VA, i] + cpa * xo
            vb = ws[_VB, i] + cpb * xo
            ei = x0 - ga * va - gb * vb
            ha += va * ei
            hb += vb * ei
            va += ua * ei
            vb += ub * ei
            pa += va * x1
            pb += vb * x1
            q += x0 * x1
            ws[_VA, i] = va
            ws[_VB, i] = vb
        return ha, hb, pa, pb, q
    for i in range(Z.shape[1]):
        si = ws[_STD, i]
        x1 = si * Z[sn, i]
        x0 = si * Z[sc, i]
        xo = si * Z[sp, i]
        va = ws[_VA, i]
        vb = ws[_VB, i]
        wa = ws[_EA, i] + cpa * xo
        wb = ws[_EB, i] + cpb * xo
        ei = x0 - ga * va - gb * vb
        ha += va * ei
        hb += vb * ei
        pa += wa * x1
        pb += wb * x1
        q += x0 * x1
        ws[_EA, i] = wa
        ws[_EB, i] = wb
        ws[_VA, i] = va + ua * ei
        ws[_VB, i] = vb + ub * ei
    return ha, hb, pa, pb, q


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False)
def _kernel_pair(W, V, bias, Z, std, lr, code, p, tied, train_bias, decay):  # pragma: no cover - jitted
    """The steps of one or two units in one pass over the inputs a step (see above)."""
    n_steps, D = Z.shape
    K = V.shape[0]
    ws = np.zeros((5, _row_stride(D, V.itemsize)), V.dtype)
    for k in range(K):
        ws[_VA + k, :D] = V[k]
        if not tied:
            ws[_EA + k, :D] = W[k]
    ws[_STD, :D] = std
    ea = _VA if tied else _EA  # the encoder rows
    c = np.zeros(6, V.dtype)  # the pass's coefficients in the weights' precision (see _kernel)
    zero = c[0]
    inv_sqrt_d = 1.0 / math.sqrt(D)
    inv_d = 1.0 / D
    step = lr * inv_d
    shrink = 1.0 - lr * decay * inv_d
    scale = inv_d if tied else inv_sqrt_d
    pa = zero
    pb = zero
    for i in range(D):  # step 0's projection
        xi = ws[_STD, i] * Z[0, i]
        pa += ws[ea, i] * xi
        pb += ws[ea + 1, i] * xi
    la = pa * scale + bias[0]
    lb = pb * scale + bias[K - 1]
    sw = 1.0  # the weights are sw times the stored rows (weight decay)
    cpa = 0.0  # the pending encoder update, in stored units
    cpb = 0.0
    for s in range(n_steps):
        if not 1e-6 < sw < 1e6:  # fold the scale into the rows (only under strong weight decay)
            ws[:4] *= sw
            cpa *= sw
            cpb *= sw
            sw = 1.0
        ga, dga = act_fdf(code, p, la)
        gb, dgb = act_fdf(code, p, lb)
        if K == 1:
            gb = 0.0
            dgb = 0.0
        sn = sw * shrink
        c[0] = cpa
        c[1] = cpb
        c[2] = ga * sw
        c[3] = gb * sw
        c[4] = step * ga / sn
        c[5] = step * gb / sn
        ha, hb, pa, pb, q = _pair_pass(ws, Z, max(s - 1, 0), s, min(s + 1, n_steps - 1), c, tied, zero)
        ca = step * dga * ha * sw * inv_d
        cb = step * dgb * hb * sw * inv_d
        if train_bias:
            bias[0] += ca
            if K == 2:
                bias[1] += cb
        if not tied:
            ca *= inv_sqrt_d
            cb *= inv_sqrt_d
        # lambda_{s+1}: E_{s+1} = shrink E_s + c_s x_s (untied); tied, the pass stored V_{s+1} - c_s x_s
        la = (sn * pa + ca * q) * scale + bias[0]
        lb = (sn * pb + cb * q) * scale + bias[K - 1]
        cpa = ca / sn
        cpb = cb / sn
        sw = sn
    for i in range(D):  # the last pending update, and the scale
        xi = ws[_STD, i] * Z[n_steps - 1, i]
        ws[ea, i] = (ws[ea, i] + cpa * xi) * sw
        ws[ea + 1, i] = (ws[ea + 1, i] + cpb * xi) * sw
        if not tied:
            ws[_VA, i] *= sw
            ws[_VB, i] *= sw
    for k in range(K):
        V[k] = ws[_VA + k, :D]
        if not tied:
            W[k] = ws[_EA + k, :D]


@numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False)
def _kernel_denoising(W, V, bias, skip, Z, Xi, std, noise, lr, code, p, tied, train_bias, truncated, train_skip,
                      decay):  # pragma: no cover - jitted
    """Denoising SGD (module docstring): input x_tilde = x + sqrt(noise) xi, target x, skip s = skip[0];
    also the truncated rule (unit k sees e_k = x - s x_tilde - sum_{a <= k} v_a g_a), with or without noise."""
    n_steps, D = Z.shape
    K = V.shape[0]
    x = np.empty(D)
    xt = np.empty(D)
    e = np.empty(D)
    gk = np.empty(K)
    dgk = np.empty(K)
    hk = np.empty(K)
    inv_sqrt_d = 1.0 / math.sqrt(D)
    inv_d = 1.0 / D
    step = lr * inv_d
    shrink = 1.0 - lr * decay * inv_d
    scale = inv_d if tied else inv_sqrt_d
    sigma = math.sqrt(noise)
    E = V if tied else W
    for s in range(n_steps):
        sk = skip[0]
        for i in range(D):
            x[i] = std[i] * Z[s, i]
            xt[i] = x[i] + sigma * Xi[s, i]
            e[i] = x[i] - sk * xt[i]
        for k in range(K):
            acc = 0.0
            for i in range(D):
                acc += E[k, i] * xt[i]
            gk[k], dgk[k] = act_fdf(code, p, acc * scale + bias[k])
        for k in range(K):  # h_k with the residual of units 1..k (truncated) or of all units
            acc = 0.0
            if truncated:
                for i in range(D):
                    e[i] -= V[k, i] * gk[k]
                    acc += V[k, i] * e[i]
            else:
                for i in range(D):
                    e[i] -= V[k, i] * gk[k]
            hk[k] = acc * inv_d
        if not truncated:
            for k in range(K):
                acc = 0.0
                for i in range(D):
                    acc += V[k, i] * e[i]
                hk[k] = acc * inv_d
        ds = 0.0
        if train_skip:
            for i in range(D):
                ds += e[i] * xt[i]
        if truncated:  # rebuild e_k unit by unit while updating V
            for i in range(D):
                e[i] = x[i] - sk * xt[i]
        for k in range(K):
            c1 = step * gk[k]
            c2 = step * dgk[k] * hk[k] if tied and not truncated else 0.0
            if truncated:
                for i in range(D):
                    e[i] -= V[k, i] * gk[k]
                    V[k, i] = V[k, i] * shrink + c1 * e[i] + c2 * xt[i]
            else:
                for i in range(D):
                    V[k, i] = V[k, i] * shrink + c1 * e[i] + c2 * xt[i]
        if not tied:
            for k in range(K):
                c = step * dgk[k] * hk[k] * inv_sqrt_d
                for i in range(D):
                    W[k, i] = W[k, i] * shrink + c * xt[i]
        if train_bias:
            for k in range(K):
                bias[k] += step * dgk[k] * hk[k]
        if train_skip:
            skip[0] = sk * shrink + step * ds * inv_d


def sgd_steps(W: np.ndarray, V: np.ndarray, bias: np.ndarray, Z: np.ndarray, std: np.ndarray, *, lr: float,
              act: Activation, tied: bool = False, train_bias: bool = False, truncated: bool = False,
              weight_decay: float = 0.0, noise: float = 0.0, Xi: np.ndarray | None = None,
              skip: np.ndarray | None = None) -> None:
    """Run ``len(Z)`` SGD steps in place, one per row of standard normals ``Z`` (shape (n, D)).

    The compiled kernel runs for the activations of :mod:`aelab.compiled_activations` that pass its
    self-check (their own ``f`` and ``df`` equal the compiled ones); any other activation runs
    through :func:`sgd_steps_numpy`.

    Args:
        W, V: (K, D) encoder and decoder weights in the eigenbasis (W is ignored when tied), both
            float64, or both float32: the kernel's passes then run in single precision (about a
            third less kernel time, 6 % a step with the draws; the error it adds is tested against
            the ODE, ``tests/shallow/test_sgd_float32.py``); activations and biases stay float64.
        bias: (K,) encoder biases (updated only if ``train_bias``).
        Z: (n, D) standard normal draws; the samples are x = std * Z[s].
        std: (D,) square roots of the covariance eigenvalues.
        noise, Xi: a denoising autoencoder sees x + sqrt(noise) Xi[s] ((n, D) standard normals).
        skip: a one-element array holding the trainable skip s (updated in place), or None.
    """
    if V.dtype == np.float32:  # single precision: weights, samples and the passes' arithmetic
        if W.dtype != np.float32:
            raise TypeError(f"sgd_steps: W and V must have one dtype, got {W.dtype} and {V.dtype}")
        std = np.asarray(std, dtype=np.float32)
    compiled = compiled_code(act)
    if compiled is None:
        sgd_steps_numpy(W, V, bias, Z, std, lr=lr, act=act, tied=tied, train_bias=train_bias, truncated=truncated,
                        weight_decay=weight_decay, noise=noise, Xi=Xi, skip=skip)
    elif truncated or noise > 0.0 or skip is not None:
        _kernel_denoising(W, V, bias, np.zeros(1) if skip is None else skip, Z, Z if Xi is None else Xi, std,
                          float(noise), float(lr), compiled[0], compiled[1], bool(tied), bool(train_bias),
                          bool(truncated), skip is not None, float(weight_decay))
    else:
        K, D = V.shape
        # the one-pass kernel keeps weight decay as a scalar factor: up to halving the weights a step
        kernel = _kernel_pair if K <= 2 and 0.5 <= 1.0 - lr * weight_decay / D <= 2.0 else _kernel
        kernel(W, V, bias, Z, std, float(lr), compiled[0], compiled[1], bool(tied), bool(train_bias),
               float(weight_decay))


def sgd_steps_numpy(W: np.ndarray, V: np.ndarray, bias: np.ndarray, Z: np.ndarray, std: np.ndarray, *, lr: float,
                    act: Activation, tied: bool = False, train_bias: bool = False, truncated: bool = False,
                    weight_decay: float = 0.0, noise: float = 0.0, Xi: np.ndarray | None = None,
                    skip: np.ndarray | None = None) -> None:
    """The same steps as :func:`sgd_steps` in plain NumPy: any activation, and a reference for the kernel."""
    n, D = Z.shape
    step = lr / D
    shrink = 1.0 - lr * weight_decay / D
    sq = math.sqrt(D)
    sigma = math.sqrt(noise)
    for s in range(n):
        x = std * Z[s]
        xt = x + sigma * Xi[s].astype(np.float64) if noise > 0.0 else x
        sk = 0.0 if skip is None else float(skip[0])
        target = x - sk * xt
        lam = (V @ xt) / D + bias if tied else (W @ xt) / sq + bias
        g, dg = act.f(lam), act.df(lam)
        if truncated:
            cum = np.cumsum(V * g[:, None], axis=0)  # row k: sum_{a<=k} v_a g_a
            resid = target[None, :] - cum
            h = np.einsum("ki,ki->k", V, resid) / D
            V_new = V * shrink + step * g[:, None] * resid
            e = resid[-1]
        else:
            e = target - g @ V
            h = (V @ e) / D
            V_new = V * shrink + step * g[:, None] * e[None, :]
            if tied:
                V_new += step * (dg * h)[:, None] * xt[None, :]
        if not tied:
            W *= shrink
            W += (step / sq) * (dg * h)[:, None] * xt[None, :]
        if train_bias:
            bias += step * dg * h
        if skip is not None:
            skip[0] = sk * shrink + step * float(e @ xt) / D
        V[...] = V_new
