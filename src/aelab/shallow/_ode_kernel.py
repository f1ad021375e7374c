"""The right-hand side of the shallow ODE compiled (numba), for the closed-form activations and the strip rule.

The same equations as :meth:`aelab.shallow.ode.OdeSystem.coefficients` and
:meth:`~aelab.shallow.ode.OdeSystem.derivative` (the NumPy reference, which the tests hold this
kernel equal to, 1e-12 relative), from the packed vector y to dy in one call: the order parameters
Q, R, T0, the Gaussian moments and the linear per-direction system of Refinetti & Goldt (2022,
sec. 2). Moments in closed form:

* linear g(x) = x, with or without means: E g1 g2 = c + m1 m2, E g1' g2' = 1, E u1 g1' g2 = c,
  E g' = 1, E g' u^2 = v, E g' u = 0, E g1' g2 = m2;
* erf g(x) = erf(x / sqrt 2), zero means only (the encoder biases are zero and not trained):
  E g1 g2 = (2/pi) arcsin(c / sqrt((1 + v1)(1 + v2))) (the paper's I2),
  E g1' g2' = (2/pi) / sqrt((1 + v1)(1 + v2) - c^2), E u1 g1' g2 = sqrt(2/pi) / sqrt(1 + v1)
  * c / (1 + v1) * sqrt(2/pi) / sqrt(1 + v2 - c^2 / (1 + v1)), E g' = sqrt(2/pi) / sqrt(1 + v),
  E g' u^2 = E g' * v / (1 + v) (:class:`aelab.activations.ErfMoments` at zero means).

Registry activations analytic in a strip (tanh, sigmoid, softplus; ``Activation.strip``) take their
moments by the strip rule (:func:`aelab.shallow._quadrature_kernel.strip_moments`), with any means,
where no field's standard deviation exceeds :data:`aelab.gaussian.STRIP_MAX_STD`; elsewhere the
kernel declines and the caller runs the NumPy path (the graded rule).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from aelab._kernel_cache import guard
from aelab.compiled_activations import ERF, LINEAR
from aelab.gaussian import STRIP_MAX_STD
from aelab.shallow._quadrature_kernel import strip_moments

guard("shallow")  # compiled code that inlines a changed module of the group is dropped

__all__ = ["KERNEL_CODES", "rhs_kernel"]

KERNEL_CODES = (LINEAR, ERF)
_TINY = 1e-300
_TWO_OVER_PI = 2.0 / math.pi
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


@njit(cache=True, error_model="numpy")  # IEEE division: an overflow ends as a divergence, not an exception
def _moments(code, par, strip, Q, m, K, i2, i11, p, e_df1f2, g1, g1u2, g1u):
    """The moments of one state at fields of covariance Q and means m (zero for erf); strip > 0: by
    the strip rule (activation ``code`` with parameter ``par``), False where it does not apply."""
    q = np.empty(K)
    for k in range(K):
        q[k] = max(Q[k, k], _TINY)
    if strip > 0.0:
        for k in range(K):
            if not math.sqrt(q[k]) <= STRIP_MAX_STD:
                return q, False
        strip_moments(code, par, strip, m, q, Q, i2, i11, p, e_df1f2, g1, g1u, g1u2)
        return q, True
    for k in range(K):
        if code == LINEAR:
            g1[k] = 1.0
            g1u2[k] = q[k]
            g1u[k] = 0.0
        else:
            g1[k] = _SQRT_TWO_OVER_PI / math.sqrt(1.0 + q[k])
            g1u2[k] = g1[k] * (q[k] / (1.0 + q[k]))
            g1u[k] = 0.0
        for l in range(K):
            c = Q[k, l]
            if code == LINEAR:
                i2[k, l] = c + m[k] * m[l]
                i11[k, l] = 1.0
                p[k, l] = c
                e_df1f2[k, l] = m[l]
            else:
                a = 1.0 + q[k]
                b = 1.0 + q[l]
                i2[k, l] = _TWO_OVER_PI * math.asin(c / math.sqrt(a * b))
                i11[k, l] = _TWO_OVER_PI / math.sqrt(a * b - c * c)
                var2 = max(q[l] - c * c / a, 0.0)
                p[k, l] = (_SQRT_TWO_OVER_PI / math.sqrt(a)) * (c / a * (_SQRT_TWO_OVER_PI / math.sqrt(1.0 + var2)))
                e_df1f2[k, l] = 0.0
    return q, True


@njit(cache=True, error_model="numpy")  # IEEE division: an overflow ends as a divergence, not an exception
def rhs_kernel(y, w, rb, K, M, code, par, strip, eta, decay, tied, truncated, train_bias, bias,
               out):  # pragma: no cover
    """dy/dt of the packed state y (layout of :meth:`OdeSystem.pack`) into ``out``; False (``out``
    unset) where the strip rule does not apply.

    w: the tracked eigenvalues / D; rb: the bulk eigenvalue / D; code, par: the activation and its
    parameter; strip: 0 for the closed forms, else the activation's strip (moments by the strip
    rule); decay: kappa (the weight decay); bias: the fixed biases when they are not trained.
    """
    MK = M * K
    if tied:
        B = y[:MK].reshape(M, K)
        A = B
        i = MK
        Saa = y[i:i + K * K].reshape(K, K)
        Sba = Saa
        Sbb = Saa
        i += K * K
    else:
        A = y[:MK].reshape(M, K)
        B = y[MK:2 * MK].reshape(M, K)
        i = 2 * MK
        S = y[i:i + 4 * K * K].reshape(2 * K, 2 * K)
        Saa = S[:K, :K]
        Sba = S[K:, :K]
        Sbb = S[K:, K:]
        i += 4 * K * K
    m = y[i:i + K] if train_bias else bias
    Q = np.empty((K, K))
    R = np.empty((K, K))
    T0 = np.empty((K, K))
    for k in range(K):
        for l in range(K):
            sq = 0.0
            sr = 0.0
            st = 0.0
            for t in range(M):
                sq += A[t, k] * w[t] * A[t, l]
                sr += B[t, k] * w[t] * A[t, l]
                st += B[t, k] * B[t, l]
            Q[k, l] = sq + rb * Saa[k, l]
            R[k, l] = sr + rb * Sba[k, l]
            T0[k, l] = st + Sbb[k, l]
    i2 = np.empty((K, K))
    i11 = np.empty((K, K))
    p = np.empty((K, K))
    e_df1f2 = np.empty((K, K))
    g1 = np.empty(K)
    g1u2 = np.empty(K)
    g1u = np.empty(K)
    q, done = _moments(code, par, strip, Q, m, K, i2, i11, p, e_df1f2, g1, g1u2, g1u)
    if not done:
        return False
    if truncated:
        for k in range(K):
            for l in range(k + 1, K):
                T0[k, l] = 0.0  # T0 is not used unmasked below
                i2[k, l] = 0.0
    Ma = np.empty((K, K))
    for k in range(K):
        acc = 0.0
        for l in range(K):
            Ma[k, l] = -T0[k, l] * i11[k, l]
            acc += T0[k, l] * ((p[k, l] - Q[k, l] * i11[k, l]) / q[k])
        r = R[k, k]
        Ma[k, k] += (r / q[k]) * (g1u2[k] / q[k] - g1[k]) - acc
    dk = eta * decay
    if tied:
        Lt = Ma.copy()
        for k in range(K):
            Lt[k, k] += 2.0 * g1[k]
        for t in range(M):
            for k in range(K):
                a1 = 0.0
                a2 = 0.0
                for l in range(K):
                    a1 += B[t, l] * Lt[k, l]
                    a2 += B[t, l] * i2[k, l]
                out[t * K + k] = eta * (w[t] * a1 - a2) - dk * B[t, k]
        Lb = rb * Lt - i2
        j = MK
        for k in range(K):
            for l in range(K):
                acc = 0.0
                for n in range(K):
                    acc += Lb[k, n] * Sbb[n, l] + Sbb[k, n] * Lb[l, n]
                out[j + k * K + l] = eta * acc - 2.0 * dk * Sbb[k, l]
        j += K * K
    else:
        for t in range(M):
            for k in range(K):
                a1 = 0.0
                a2 = 0.0
                for l in range(K):
                    a1 += A[t, l] * Ma[k, l]
                    a2 += B[t, l] * i2[k, l]
                out[t * K + k] = eta * w[t] * (a1 + B[t, k] * g1[k]) - dk * A[t, k]
                out[MK + t * K + k] = eta * (w[t] * A[t, k] * g1[k] - a2) - dk * B[t, k]
        K2 = 2 * K
        Lb = np.zeros((K2, K2))
        for k in range(K):
            for l in range(K):
                Lb[k, l] = rb * Ma[k, l]
                Lb[K + k, K + l] = -i2[k, l]
            Lb[k, K + k] = rb * g1[k]
            Lb[K + k, k] = rb * g1[k]
        LS = Lb @ S
        j = 2 * MK
        for k in range(K2):
            for l in range(K2):
                out[j + k * K2 + l] = eta * (LS[k, l] + LS[l, k]) - 2.0 * dk * S[k, l]
        j += K2 * K2
    if train_bias:
        for k in range(K):
            acc = 0.0
            for l in range(K):
                acc += T0[k, l] * e_df1f2[k, l]
            out[j + k] = eta * (R[k, k] * g1u[k] / q[k] - acc)
    return True
