"""The exact ODEs of online SGD for shallow autoencoders in the high-dimensional limit.

Refinetti & Goldt (ICML 2022, sec. 2) write the dynamics as ODEs for the order parameters and
their per-direction densities q_tau, r_tau, t_tau. Per direction those densities are rank one,
q_tau = a a^T, r_tau = b a^T, t_tau = b b^T with a_tau = W e_tau, b_tau = V e_tau / sqrt(D), and
their ODEs are the product rule applied to a *linear* system for c_tau = (a_tau; b_tau):

    dc_tau/dt = eta L(rho_tau / D) c_tau,
    L(r) = [[ r M_a,       r diag(g1) ],
            [ r diag(g1),  -I2        ]],

with t = steps / D, g1_k = E[g'(lambda_k)], I2_kl = E[g(lambda_k) g(lambda_l)] and

    M_a[k, m] = delta_km (E[g''(lambda_k) nu_k] - sum_l T0_kl E[g''(lambda_k) g(lambda_l)])
                - T0_km E[g'(lambda_k) g'(lambda_m)].

This follows from averaging the SGD update over a fresh Gaussian sample and Stein's lemma
E[y F(z)] = sum_j Cov(y, z_j) E[dF/dz_j] (no inverse of the field covariance is needed, so the
same equations hold for tied weights and degenerate states). The terms with g'' are reduced
to g and g' by Gaussian integration by parts:

    E[g''(x1) g(x2)] = (E[(x1 - m1) g'(x1) g(x2)] - Cov(x1, x2) E[g'(x1) g'(x2)]) / Var(x1),
    E[g''(x1) (x1 - m1)] = E[g'(x1) ((x1 - m1)^2 / Var(x1) - 1)],

so any activation given with its derivative works. The flat bulk of the covariance is carried
exactly by the second moment S of c over the bulk directions, dS/dt = eta (L S + S L^T).
Encoder biases follow db_k/dt = eta (E[g'(lambda_k) nu_k] - sum_l T0_kl E[g'(lambda_k) g(lambda_l)]).
Tied networks (a = b) evolve with L_tied(r) = r (M_a + 2 diag(g1)) - I2, the sum of both
gradient paths. Truncated SGD restricts every interaction sum to l <= k.

No O(eta^2) term survives the limit, so eta only rescales time. The driver is separate from
the right-hand side (a SciPy ODE solver or fixed-step RK4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK45, Radau

from aelab.activations import Activation, ErfMoments, GaussianMoments, LinearMoments
from aelab.compiled_activations import ERF, LINEAR, compiled_code
from aelab.data.synthetic import Covariance
from aelab.errors import DivergenceError
from aelab.gaussian import (BASE_BREAKS, GRADED_POINTS_2D, legendre_rule, pseudo_kinks, rule_1d, rule_2d, rule_2d_outer,
                            rule_kind, standard_rule)
from aelab.shallow._ode_kernel import KERNEL_CODES, rhs_kernel
from aelab.shallow._quadrature_kernel import pair_sums, pair_sums_graded, single_sums, strip_moments
from aelab.shallow.state import State

__all__ = ["OdeSystem", "integrate"]

_TINY = 1e-300
_CLOSED_FORMS = {LINEAR: LinearMoments, ERF: ErfMoments}


@dataclass(frozen=True)
class OdeSystem:
    """The ODE of one setting: covariance, activation, learning rate and rule.

    Attributes:
        cov: the input covariance (eigenvalues of the tracked directions and the bulk).
        act: the activation.
        lr: eta.
        tied: tied weights (v_k = w_k, full gradient).
        train_bias: the encoder biases are trained.
        truncated: truncated SGD (unit k sees units 1..k only).
        weight_decay: kappa, adds -eta kappa theta to every d theta / dt.
        K: hidden units.
        compiled: :meth:`rhs` uses the compiled kernel or the batched moments where they apply
            (False: the NumPy reference everywhere).
        noise: Delta, the variance of the input noise of a denoising autoencoder (0: none).
        train_skip: the network has a trainable skip x_hat = s x_tilde + ..., its value one more
            entry of the state (``State.skip``).

    Denoising (docs/shallow-denoising.md): the per-direction system keeps its form with the field
    variance (rho_tau + Delta)/D in the encoder's curvature term and the residual target's
    covariance c_tau/D = ((1 - s) rho_tau - s Delta)/D in the couplings; the moments are taken over
    the noisy fields (covariance Q~) and the decoder projection nu_k is the residual target's
    (covariance R~_kk with lambda_k); ds/dt = eta [(1 - s) tr Omega/D - s Delta - sum_k (R + Delta
    P_ba)_kk g1_k] - eta kappa s.
    """

    cov: Covariance
    act: Activation
    lr: float
    K: int
    tied: bool = False
    train_bias: bool = False
    truncated: bool = False
    weight_decay: float = 0.0
    compiled: bool = True
    noise: float = 0.0
    train_skip: bool = False

    @property
    def denoising(self) -> bool:
        return self.noise > 0.0 or self.train_skip

    def pmse(self, state: State) -> float:
        """The population error of ``state`` (against the clean input for a denoising autoencoder)."""
        if self.denoising:
            from aelab.shallow.denoising import denoising_pmse

            return denoising_pmse(state, self.cov, self.act, noise=self.noise, skip=state.skip)
        from aelab.shallow.state import order_parameters

        return order_parameters(state, self.cov, self.act).pmse

    # --- packing -------------------------------------------------------------------------
    def pack(self, state: State) -> np.ndarray:
        """Flatten a state into the ODE vector."""
        K = self.K
        parts = [state.B.ravel()] if self.tied else [state.A.ravel(), state.B.ravel()]
        parts.append((state.S[K:, K:] if self.tied else state.S).ravel())
        if self.train_bias:
            parts.append(state.bias)
        if self.train_skip:
            parts.append(np.array([state.skip], dtype=float))
        return np.concatenate(parts)

    def unpack(self, y: np.ndarray, bias: np.ndarray | None = None) -> State:
        """Rebuild a state from the ODE vector (``bias`` supplies fixed biases when untrained)."""
        K, M = self.K, self.cov.M
        i = 0
        B = y[i + (0 if self.tied else M * K): i + (1 if self.tied else 2) * M * K].reshape(M, K)
        A = B if self.tied else y[: M * K].reshape(M, K)
        i = (1 if self.tied else 2) * M * K
        if self.tied:
            Sbb = y[i: i + K * K].reshape(K, K)
            S = np.tile(Sbb, (2, 2))
            i += K * K
        else:
            S = y[i: i + 4 * K * K].reshape(2 * K, 2 * K)
            i += 4 * K * K
        if self.train_bias:
            b = y[i: i + K]
            i += K
        else:
            b = np.zeros(K) if bias is None else np.asarray(bias, float)
        skip = float(y[i]) if self.train_skip else 0.0
        return State(A=A, B=B, S=S, bias=b, skip=skip)

    # --- right-hand side -----------------------------------------------------------------
    def coefficients(self, state: State, *, batched: bool = False) -> dict[str, np.ndarray]:
        """The K x K coefficient matrices of the linear per-direction system at ``state``.

        ``batched``: the Gaussian integrals of a quadrature activation in one pass over one rule
        (:func:`_quadrature_moments`); the default calls the moments one by one (the reference).
        """
        K, D = self.K, self.cov.D
        w = self.cov.eigenvalues / D
        A, B, S, m = state.A, state.B, state.S, state.bias
        rb = self.cov.bulk / D
        Q = (A.T * w) @ A + rb * S[:K, :K]
        R = (B.T * w) @ A + rb * S[K:, :K]
        T0 = B.T @ B + S[K:, K:]
        extra: dict[str, np.ndarray] = {}
        if self.denoising:  # the noisy fields and the residual target (docs/shallow-denoising.md)
            p_ba = (B.T @ A + S[K:, :K]) / D
            extra = {"R_plus": R + self.noise * p_ba}
            Q = Q + self.noise * (A.T @ A + S[:K, :K]) / D
            R = (1.0 - state.skip) * R - state.skip * self.noise * p_ba
        q = np.maximum(Q.diagonal(), _TINY)
        r = R.diagonal()
        if batched and _by_quadrature(self.act):
            mom = _quadrature_moments(self.act, m, q, Q)
        else:
            mom = _moments(self.act, m, q, Q, self.train_bias, batched=batched)
        i2, i11, p, g1, g1u2 = mom["i2"], mom["i11"], mom["p"], mom["g1"], mom["g1u2"]
        h = (p - Q * i11) / q[:, None]  # E[g''(lambda_k) g(lambda_l)]
        if self.truncated:
            mask = np.tril(np.ones((K, K)))
            T0m, i2m = T0 * mask, i2 * mask
        else:
            T0m, i2m = T0, i2
        sig = (r / q) * (g1u2 / q - g1)  # E[g''(lambda_k) nu_k]
        Ma = -T0m * i11
        Ma[np.diag_indices(K)] += sig - np.sum(T0m * h, axis=1)
        out = {"Ma": Ma, "g1": g1, "I2": i2m, "Q": Q, "R": R, "T0": T0, "T0m": T0m, "q": q, **extra}
        if self.train_bias:
            out["dbias"] = r * mom["g1u"] / q - np.sum(T0m * mom["e_df1f2"], axis=1)
        return out

    def derivative(self, state: State, *, batched: bool = False) -> State:
        """d state / dt (``batched``: see :meth:`coefficients`)."""
        c = self.coefficients(state, batched=batched)
        eta, K, D = self.lr, self.K, self.cov.D
        Ma, g1, I2 = c["Ma"], c["g1"], c["I2"]
        rho = self.cov.eigenvalues[:, None]
        s, delta = state.skip, self.noise
        # field variance (encoder curvature) and residual-target covariance (couplings), per direction;
        # for the autoencoder (delta = 0, s = 0) both are rho / D
        wf, wc = (rho + delta) / D, ((1.0 - s) * rho - s * delta) / D
        A, B, S = state.A, state.B, state.S
        decay = eta * self.weight_decay
        Lb = self.bulk_matrix(state, c)
        if self.tied:
            dB = eta * (wf * (B @ Ma.T) + 2.0 * wc * B * g1 - B @ I2.T) - decay * B
            Sbb = S[K:, K:]
            dSbb = eta * (Lb @ Sbb + Sbb @ Lb.T) - 2.0 * decay * Sbb
            dS = np.tile(dSbb, (2, 2))
            dA = dB
        else:
            dA = eta * (wf * (A @ Ma.T) + wc * B * g1) - decay * A
            dB = eta * (wc * A * g1 - B @ I2.T) - decay * B
            LS = Lb @ S
            dS = eta * (LS + LS.T) - 2.0 * decay * S
        dbias = eta * c["dbias"] if self.train_bias else np.zeros(K)
        dskip = 0.0
        if self.train_skip:
            trace = self.cov.trace / D
            dskip = eta * ((1.0 - s) * trace - s * delta - float(np.dot(np.diag(c["R_plus"]), g1))) - decay * s
        return State(A=dA, B=dB, S=dS, bias=dbias, skip=dskip)

    def bulk_matrix(self, state: State, c: dict[str, np.ndarray]) -> np.ndarray:
        """The per-direction matrix L of the bulk directions (2K x 2K; tied: K x K), from :meth:`coefficients`."""
        K, D = self.K, self.cov.D
        s, delta = state.skip, self.noise
        rf, rc = (self.cov.bulk + delta) / D, ((1.0 - s) * self.cov.bulk - s * delta) / D
        idx = np.arange(K)
        if self.tied:
            Lb = rf * c["Ma"] - c["I2"]
            Lb[idx, idx] += 2.0 * rc * c["g1"]
            return Lb
        Lb = np.zeros((2 * K, 2 * K))
        Lb[:K, :K] = rf * c["Ma"]
        Lb[K:, K:] = -c["I2"]
        Lb[idx, K + idx] = Lb[K + idx, idx] = rc * c["g1"]
        return Lb

    def rhs(self, t: float, y: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        """The right-hand side f(t, y) for SciPy-style drivers.

        With ``compiled`` (default) the whole right-hand side runs in one compiled call where
        :mod:`aelab.shallow._ode_kernel` has it: in closed form (linear; erf at zero biases), or by
        the strip rule (registry activations analytic in a strip, fields no wider than
        ``STRIP_MAX_STD``); other quadrature activations integrate in one batched pass; otherwise,
        and with ``compiled=False``, the NumPy reference :meth:`derivative` runs. The paths are
        tested equal.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            dy = self._compiled_rhs(y, bias) if self.compiled else None
            if dy is None:
                dy = self.pack(self.derivative(self.unpack(y, bias), batched=self.compiled))
        if not np.all(np.isfinite(dy)):
            raise _NonFinite(t)
        return dy

    def _compiled_rhs(self, y: np.ndarray, bias: np.ndarray | None) -> np.ndarray | None:
        """dy/dt from :func:`rhs_kernel`, or None where it does not apply."""
        kernel = self._kernel_args(bias)
        if kernel is None:
            return None
        dy = np.empty_like(y)
        fixed = np.zeros(self.K) if bias is None or self.train_bias else np.asarray(bias, float)
        done = rhs_kernel(np.ascontiguousarray(y, dtype=float), self.cov.eigenvalues / self.cov.D,
                          self.cov.bulk / self.cov.D, self.K, self.cov.M, *kernel, float(self.lr),
                          float(self.weight_decay), self.tied, self.truncated, self.train_bias, fixed, dy)
        return dy if done else None

    def _kernel_args(self, bias: np.ndarray | None) -> tuple[int, float, float] | None:
        """(code, parameter, strip) of :func:`rhs_kernel`: strip 0 for the closed forms (:meth:`_kernel_code`),
        the activation's strip for the strip rule; None where neither applies."""
        code = self._kernel_code(bias)
        if code is not None:
            return code, 0.0, 0.0
        if self.denoising or self.act.strip is None or not _by_quadrature(self.act):
            return None
        found = compiled_code(self.act)
        return None if found is None else (found[0], float(found[1]), float(self.act.strip))

    def _kernel_code(self, bias: np.ndarray | None) -> int | None:
        """The activation code of the compiled closed-form right-hand side, or None where it does not apply."""
        if self.denoising:
            return None
        found = compiled_code(self.act)
        if found is None or found[0] not in KERNEL_CODES:
            return None
        code = found[0]
        if type(self.act.moments) is not _CLOSED_FORMS[code]:
            return None  # the reference would use other moments
        if code == ERF and (self.train_bias or (bias is not None and np.any(np.asarray(bias) != 0.0))):
            return None  # erf's E g g with means is a quadrature
        return code


def _moments(act: Activation, m: np.ndarray, q: np.ndarray, Q: np.ndarray, bias: bool, *,
             batched: bool = False) -> dict[str, np.ndarray]:
    """The Gaussian moments of the ODE: one call of the activation's moments each (the reference), or
    with ``batched`` the two-variable ones in one :meth:`GaussianMoments.pair_moments` call."""
    mom = act.moments
    m1, m2, v1, v2 = m[:, None], m[None, :], q[:, None], q[None, :]
    if batched:
        pair = mom.pair_moments(m1, m2, v1, v2, Q, with_df1f2=bias)
    else:
        pair = (mom.e_ff(m1, m2, v1, v2, Q), mom.e_dfdf(m1, m2, v1, v2, Q), mom.e_u1df1f2(m1, m2, v1, v2, Q))
        if bias:
            pair += (mom.e_df1f2(m1, m2, v1, v2, Q),)
    out = {"i2": pair[0], "i11": pair[1], "p": pair[2], "g1": mom.e_df(m, q), "g1u2": mom.e_df_u2(m, q)}
    if bias:
        out["g1u"] = mom.e_df_u(m, q)
        out["e_df1f2"] = pair[3]
    return out


_QUADRATURE_METHODS = ("e_ff", "e_dfdf", "e_u1df1f2", "e_df1f2", "e_df", "e_df_u", "e_df_u2", "pair_moments")


def _by_quadrature(act: Activation) -> bool:
    """The activation's moments are the generic quadrature of :class:`GaussianMoments` (no closed forms)."""
    cls = type(act.moments)
    return all(getattr(cls, name) is getattr(GaussianMoments, name) for name in _QUADRATURE_METHODS)


def _quadrature_moments(act: Activation, m: np.ndarray, q: np.ndarray, Q: np.ndarray, *,
                        compiled: bool = True) -> dict[str, np.ndarray]:
    """All the moments of :func:`_moments` in one pass: the rules of :class:`GaussianMoments`, g and g' once.

    Two variables: with the factored rule w_ij = w1_i w2_ij of :func:`aelab.gaussian.rule_2d`, the
    conditional sums E[g(x2) | z1_i] = sum_j w2_ij g(x2_ij) and E[g'(x2) | z1_i] are taken first,
    and every two-variable moment is a sum over the outer nodes of them; one variable: the rule of
    :func:`aelab.gaussian.expect_1d`, g' evaluated once. With ``compiled``, registry activations
    take the sums in :mod:`aelab.shallow._quadrature_kernel`, which forms the strip rule of
    activations analytic in a strip entirely and the graded inner rule per outer node; the NumPy
    sums below are their reference.
    """
    mom = act.moments
    kinks, strip = act.kinks, act.strip
    code = compiled_code(act) if compiled else None
    K = m.shape[0]
    if code is not None:
        out = {name: np.empty((K, K)) for name in ("i2", "i11", "p", "e_df1f2")}
        out.update({name: np.empty(K) for name in ("g1", "g1u", "g1u2")})
        pair = (out["i2"], out["i11"], out["p"], out["e_df1f2"])
        m1, m2, v1, v2 = m[:, None], m[None, :], q[:, None], q[None, :]
        rule = rule_kind(None, strip, kinks, np.sqrt(np.maximum(q, 0.0)))  # the choice of rule_2d and rule_1d
        if rule == "strip":
            strip_moments(code[0], code[1], strip, m, q, Q, *pair, out["g1"], out["g1u"], out["g1u2"])
            return out
        if rule == "graded":
            outer = rule_2d_outer(m1, m2, v1, v2, Q, kinks1=kinks, kinks2=kinks, n=mom.n2, graded=None)
            z1 = outer["z1"]
            gx, gw = legendre_rule(GRADED_POINTS_2D)
            pair_sums_graded(code[0], code[1], m, q, z1, np.broadcast_to(outer["w1"], z1.shape), outer["s1"],
                             outer["beta"], outer["s21"], BASE_BREAKS, pseudo_kinks(kinks), gx, gw,
                             _base_rule_total(), *pair)
        else:  # the plain rule (split at kinks): nodes from rule_2d
            x1, x2, w1, w2 = rule_2d(m1, m2, v1, v2, Q, kinks1=kinks, kinks2=kinks, n=mom.n2, graded=None,
                                     factored=True)
            shape2 = np.broadcast_shapes(x2.shape, w2.shape)
            pair_sums(code[0], code[1], m, np.broadcast_to(x1[..., 0], w1.shape), w1,
                      np.broadcast_to(x2, shape2), np.broadcast_to(w2, shape2), *pair)
        x, w = rule_1d(m, q, kinks=kinks, n=mom.n1, graded=None, strip=strip)
        single_sums(code[0], code[1], m, x, np.broadcast_to(w, x.shape), out["g1"], out["g1u"], out["g1u2"])
        return out
    m1, m2, v1, v2 = m[:, None], m[None, :], q[:, None], q[None, :]
    x1, x2, w1, w2 = rule_2d(m1, m2, v1, v2, Q, kinks1=kinks, kinks2=kinks, n=mom.n2, graded=None, strip=strip,
                             factored=True)
    e_f2 = np.sum(w2 * act.f(x2), axis=-1)  # (K, K, P1)
    e_df2 = np.sum(w2 * act.df(x2), axis=-1)
    x1 = x1[..., 0]
    w_df1 = w1 * act.df(x1)
    out = {"i2": np.sum(w1 * act.f(x1) * e_f2, axis=-1), "i11": np.sum(w_df1 * e_df2, axis=-1),
           "p": np.sum(w_df1 * (x1 - np.broadcast_to(m1, Q.shape)[..., None]) * e_f2, axis=-1),
           "e_df1f2": np.sum(w_df1 * e_f2, axis=-1)}
    x, w = rule_1d(m, q, kinks=kinks, n=mom.n1, graded=None, strip=strip)
    w_df = w * act.df(x)
    u = x - m[:, None]
    out.update(g1=np.sum(w_df, axis=-1), g1u=np.sum(w_df * u, axis=-1), g1u2=np.sum(w_df * u**2, axis=-1))
    return out


@lru_cache(maxsize=1)
def _base_rule_total() -> float:
    """The total weight of the graded inner rule split at ``BASE_BREAKS`` only (1 to the truncation)."""
    return float(np.sum(standard_rule(BASE_BREAKS, GRADED_POINTS_2D)[1]))


class _NonFinite(ArithmeticError):
    def __init__(self, t: float):
        super().__init__(t)
        self.t = t


def _rk4(f: Callable[[float, np.ndarray], np.ndarray], t0: float, t1: float, y: np.ndarray, dt: float) -> np.ndarray:
    n = max(1, int(np.ceil((t1 - t0) / dt - 1e-9)))
    h = (t1 - t0) / n
    t = t0
    for _ in range(n):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
    return y


def integrate(
    system: OdeSystem,
    state0: State,
    times: np.ndarray,
    *,
    method: str = "LSODA",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    dt: float = 0.01,
    on_step: Callable[[int], None] | None = None,
) -> list[State]:
    """Integrate the ODE from ``state0`` (at t = times[0]) and return the states at ``times``.

    Adaptive methods (SciPy's ``LSODA``, ``DOP853``, ``RK45``, ``Radau``, ``BDF``) step freely and
    interpolate their dense output on ``times``; ``rk4`` takes fixed steps of at most ``dt`` that
    land on every requested time. A divergence raises :class:`DivergenceError` carrying the states
    computed so far (``partial``), the time and the cause.
    """
    times = np.asarray(times, float)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be a non-empty, strictly increasing 1-D array")
    bias = state0.bias
    f = (lambda t, y: system.rhs(t, y, bias))
    y = system.pack(state0)
    states = [system.unpack(y.copy(), bias)]
    t_now = times[0]
    try:
        if method == "rk4":
            for j in range(1, times.size):
                y = _rk4(f, times[j - 1], times[j], y, dt)
                t_now = times[j]
                _check_finite(y, t_now, states)
                states.append(system.unpack(y.copy(), bias))
                if on_step is not None:
                    on_step(j)
            return states
        if times.size == 1:
            return states
        solver = _SOLVERS[method](f, times[0], y, times[-1], rtol=rtol, atol=atol)
        j = 1
        while j < times.size:
            message = solver.step()
            if solver.status == "failed":
                raise DivergenceError(f"ODE integration failed at t = {solver.t:.6g}: {message}",
                                      time=float(solver.t), cause=str(message), partial=states)
            t_now = solver.t
            dense = None
            while j < times.size and times[j] <= solver.t:
                dense = dense or solver.dense_output()
                y = dense(times[j]) if times[j] < solver.t else solver.y
                _check_finite(y, times[j], states)
                states.append(system.unpack(np.array(y, copy=True), bias))
                if on_step is not None:
                    on_step(j)
                j += 1
    except _NonFinite as exc:
        raise DivergenceError(
            f"ODE diverged at t = {exc.t:.6g}: the order parameters overflowed (NaN or infinity); "
            "try a smaller learning rate or smaller initial weights", time=float(exc.t),
            cause="non-finite derivative", partial=states) from None
    return states


def _check_finite(y: np.ndarray, t: float, states: list[State]) -> None:
    if not np.all(np.isfinite(y)):
        raise DivergenceError(f"ODE diverged by t = {t:.6g}: non-finite state", time=float(t),
                              cause="non-finite state", partial=states)


_SOLVERS = {"LSODA": LSODA, "DOP853": DOP853, "RK45": RK45, "Radau": Radau, "BDF": BDF}
