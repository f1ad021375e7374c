"""The Gaussian moments of the shallow ODE by quadrature, compiled (numba), for registry activations.

The same sums as the NumPy path of :func:`aelab.shallow.ode._quadrature_moments` (which the tests
hold this kernel equal to, 1e-12): for every pair of hidden units (k, l), with the factored
two-variable rule of :func:`aelab.gaussian.rule_2d` (outer nodes x1_i, weights w1_i; inner nodes
x2_ij, weights w2_ij), the conditional sums E[g(x2) | z1_i] and E[g'(x2) | z1_i] are taken first and

    E g(x1) g(x2) = sum_i w1_i g(x1_i) E[g | i],           E g'(x1) g'(x2) = sum_i w1_i g'(x1_i) E[g' | i],
    E (x1 - m1) g'(x1) g(x2) = sum_i w1_i g'(x1_i) (x1_i - m1) E[g | i],
    E g'(x1) g(x2) = sum_i w1_i g'(x1_i) E[g | i];

one variable: E g', E g' u and E g' u^2 (u = x - m) on the rule of :func:`aelab.gaussian.rule_1d`.
g and g' come from one evaluation (:func:`aelab.compiled_activations.act_fdf`). For the plain
Gauss-Hermite rule (smooth activations, standard deviations up to ``GRADED_ABOVE_STD``) the nodes
are formed here too, in the order of operations of ``rule_2d``; other rules are passed in.
"""

from __future__ import annotations

import math

from numba import njit

from aelab.compiled_activations import act_fdf

__all__ = ["pair_sums", "pair_sums_hermite", "single_sums"]


@njit(cache=True, inline="always")
def _conditional(code, p, x2, w2, k, l, i):  # pragma: no cover - compiled
    ef = 0.0
    edf = 0.0
    for j in range(x2.shape[3]):
        f, df = act_fdf(code, p, x2[k, l, i, j])
        ef += w2[k, l, i, j] * f
        edf += w2[k, l, i, j] * df
    return ef, edf


@njit(cache=True, error_model="numpy")
def pair_sums(code, p, m, x1, w1, x2, w2, i2, i11, pp, edf12):  # pragma: no cover - compiled
    """The four two-variable moments of every pair from given nodes.

    x1, w1: (K, K, P1) outer nodes and weights; x2, w2: (K, K, P1, P2) inner ones (broadcast views
    allowed); m: (K,) means; results into the (K, K) arrays i2, i11, pp, edf12.
    """
    K = m.shape[0]
    for k in range(K):
        for l in range(K):
            s_ff = 0.0
            s_dd = 0.0
            s_p = 0.0
            s_df = 0.0
            for i in range(x1.shape[2]):
                ef, edf = _conditional(code, p, x2, w2, k, l, i)
                f1, df1 = act_fdf(code, p, x1[k, l, i])
                wd = w1[k, l, i] * df1
                s_ff += w1[k, l, i] * f1 * ef
                s_dd += wd * edf
                s_p += wd * (x1[k, l, i] - m[k]) * ef
                s_df += wd * ef
            i2[k, l] = s_ff
            i11[k, l] = s_dd
            pp[k, l] = s_p
            edf12[k, l] = s_df


@njit(cache=True, error_model="numpy")
def pair_sums_hermite(code, p, m, q, Q, z, w, i2, i11, pp, edf12):  # pragma: no cover - compiled
    """:func:`pair_sums` on the plain rule: z, w the Gauss-Hermite rule for N(0, 1) in both variables.

    x1 = m_k + s1 z_i, x2 = (m_l + beta z_i) + s21 z_j with s1 = sqrt(q_k), beta = Q_kl / s1,
    s21 = sqrt(max(q_l - beta^2, 0)) (``rule_2d``, no kinks).
    """
    K = m.shape[0]
    n = z.shape[0]
    for k in range(K):
        s1 = math.sqrt(max(q[k], 0.0))
        for l in range(K):
            beta = Q[k, l] / s1 if s1 > 0.0 else 0.0
            s21 = math.sqrt(max(q[l] - beta * beta, 0.0))
            s_ff = 0.0
            s_dd = 0.0
            s_p = 0.0
            s_df = 0.0
            for i in range(n):
                centre = m[l] + beta * z[i]
                ef = 0.0
                edf = 0.0
                for j in range(n):
                    f2, df2 = act_fdf(code, p, centre + s21 * z[j])
                    ef += w[j] * f2
                    edf += w[j] * df2
                x1 = m[k] + s1 * z[i]
                f1, df1 = act_fdf(code, p, x1)
                wd = w[i] * df1
                s_ff += w[i] * f1 * ef
                s_dd += wd * edf
                s_p += wd * (x1 - m[k]) * ef
                s_df += wd * ef
            i2[k, l] = s_ff
            i11[k, l] = s_dd
            pp[k, l] = s_p
            edf12[k, l] = s_df


@njit(cache=True, error_model="numpy")
def single_sums(code, p, m, x, w, g1, g1u, g1u2):  # pragma: no cover - compiled
    """E g', E g' u, E g' u^2 (u = x - m_k) from the nodes x and weights w, both (K, P) (broadcast views allowed)."""
    for k in range(m.shape[0]):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for i in range(x.shape[1]):
            _, df = act_fdf(code, p, x[k, i])
            wd = w[k, i] * df
            u = x[k, i] - m[k]
            s0 += wd
            s1 += wd * u
            s2 += wd * u * u
        g1[k] = s0
        g1u[k] = s1
        g1u2[k] = s2
