"""Initialisation advisor for deep weight-tied autoencoders, from the theory of Li & Nguyen (2019).

:func:`advise` classifies a setting (sigma_W^2, sigma_b^2) with Sec. 3.5's rule (numerical
infinities / slowed / trainable, see :func:`aelab.deep.phases.classify_scheme`) and gives its phase,
its signal and variation strengths and its distance to the nearest phase transition.
:func:`recommend_init` returns a safe (sigma_W^2, sigma_b^2) for any activation pair:

* decoders whose rho leaves 0 at beta_rho and then grows without bound (ReLU, leaky ReLU,
  linear): beta = alpha sigma_W^2 = beta_rho, sigma_b^2 = 0 (the paper's choice sigma_W^2 = 2 for ReLU;
  below beta_rho the network is trivial, above it rho is infinite);
* bounded decoders with phi(0) = 0 (tanh, erf, hard tanh): the decoder's edge of chaos. Along
  taubar^2, beta = min(1.02 beta_0(taubar), alpha sigma_{W,max}^2(taubar)) (just inside the signal phase,
  or as close to it as a finite forward fixed point allows) with sigma_b^2 = taubar^2 -
  sigma_W^2 E sigma(taubar z)^2, keeping beta >= 1.05 beta_rho (clear of the trivial phase); of
  these, the one with the largest output signal fraction at the given depth. For tanh/tanh
  this lands on the paper's best scheme 7 (sigma_W^2 = 1.05, sigma_b^2 ~ 0);
* otherwise, or when the rule gives no trainable setting: the best of a grid of candidates
  (trainable before slowed before infinities; then the signal phase; then the largest
  signal fraction S_sig / (S_sig + S_var) at the given depth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from aelab.deep import infinite_depth as inf_depth
from aelab.deep import phases
from aelab.config import validate_config
from aelab.deep.config import AdviseConfig
from aelab.deep.state_evolution import evolve, evolve_many

__all__ = ["Advice", "advise", "recommend_init", "classify_scheme"]

classify_scheme = phases.classify_scheme
MARGIN = 0.02  # relative distance above the gamma transition of a recommended bounded-decoder setting
SAFETY = 0.05  # least relative distance above the rho transition (the neighbourhood of Table 1's rule)


@dataclass(frozen=True)
class Advice:
    """The theory's verdict on one initialisation (and the advisor's recommendation).

    Attributes:
        sigma_w_sq, sigma_b_sq: the setting judged (the given one, or the recommendation).
        phase: its infinite-depth phase (:data:`aelab.deep.phases.PHASES`).
        classification: "trainable", "slowed" or "infinities" (Table 1's rule).
        s_sig, s_var: signal coefficient S_1 and noise standard deviation sqrt(V_1) of the output
            at the given depth (Theorem 1, from input variance ``input_variance``).
        s_sig_bulk, s_var_bulk: beta gamma and sqrt(beta rho) at infinite depth (Sec. 3.1).
        tau_bar_sq: the forward fixed point taubar^2 (inf if there is none).
        beta: alpha sigma_W^2.
        nearest_transition: "rho" or "gamma" (the transition nearest in beta), or None.
        distance_to_transition: beta minus the nearest transition's beta (None if none).
        recommended: the advisor's recommended (sigma_W^2, sigma_b^2) for this architecture.
        reasons: the explanation, one sentence each.
    """

    encoder: str
    decoder: str
    bottleneck: str
    depth: int
    alpha: float
    sigma_w_sq: float
    sigma_b_sq: float
    phase: str
    classification: str
    s_sig: float
    s_var: float
    s_sig_bulk: float
    s_var_bulk: float
    tau_bar_sq: float
    beta: float
    nearest_transition: str | None
    distance_to_transition: float | None
    recommended: tuple[float, float]
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _validate(encoder, decoder, depth, bottleneck, alpha, sigma_w_sq, sigma_b_sq, input_variance) -> AdviseConfig:
    return validate_config(AdviseConfig, {"encoder": encoder, "decoder": decoder, "depth": depth,
                                          "bottleneck": bottleneck, "alpha": alpha, "sigma_w_sq": sigma_w_sq,
                                          "sigma_b_sq": sigma_b_sq, "input_variance": input_variance})


def _unbounded_rho(encoder, decoder, beta_rho: float) -> bool:
    """Above beta_rho, does rho on gamma = 0 grow without bound (phi with linear growth)?"""
    r = inf_depth.rho_attractor(encoder, decoder, 1.25 * beta_rho, 1.0, 1.0)
    return bool(np.isinf(r))


def _edge_candidates(encoder, decoder, alpha, beta_rho, bottleneck) -> list[tuple[float, float, str]]:
    """Bounded decoders: beta = min((1 + MARGIN) beta_0(taubar), alpha sigma_{W,max}^2(taubar)) along taubar^2,
    sigma_b^2 making taubar^2 the forward fixed point: the decoder's edge of chaos, or the closest
    approach to it that a finite forward fixed point allows."""
    t2 = np.geomspace(0.005, 2.0, 24)
    b0 = inf_depth.gamma_transition_above(encoder, decoder, t2, beta_rho * (1 + 1e-6), bottleneck=bottleneck)
    wmax = inf_depth.sigma_w_max_sq(encoder, t2)
    out, seen = [], set()
    for t, b, wm in zip(t2, b0, wmax):
        if not np.isfinite(b):
            continue
        sw = min((1 + MARGIN) * b / alpha, float(wm))
        if sw * alpha < (1 + SAFETY) * beta_rho:  # keep clear of the trivial phase
            continue
        sb = max(float(inf_depth.bias_for(encoder, sw, t)), 0.0)
        if (round(sw, 9), round(sb, 9)) in seen:
            continue
        seen.add((round(sw, 9), round(sb, 9)))
        where = ("just above the gamma transition" if sw * alpha > b else
                 f"as close below the gamma transition as taubar allows (beta / beta_0 = {sw * alpha / b:.4f})")
        out.append((sw, sb, f"decoder's edge of chaos: beta = {sw * alpha:.4g}, {where} beta_0 = {b:.4g} at "
                    f"taubar^2 = {t:.3g}, the candidate with the largest output signal fraction at this depth "
                    "(Li & Nguyen 2019, Secs. 3.2, 3.5; cf. Table 1, scheme 7)"))
    return out


def _grid_candidates(alpha) -> list[tuple[float, float, str]]:
    out = []
    for sw in np.geomspace(0.25, 4.0, 13) / alpha:
        for sb in (0.0, 0.01, 0.05, 0.1, 0.3):
            out.append((float(sw), sb, "best of a grid of candidates"))
    return out


_RANK = {"trainable": 0, "slowed": 1, "infinities": 2}


@lru_cache(maxsize=128)
def _recommend(encoder: str, decoder: str, depth: int, alpha: float, bottleneck: str | None,
               input_variance: float) -> tuple[float, float, str, str]:
    """(sigma_W^2, sigma_b^2, why, class) of the recommendation."""
    beta_rho = inf_depth.rho_transition(decoder)
    rule: list[tuple[float, float, str]] = []
    unbounded = beta_rho is not None and _unbounded_rho(encoder, decoder, beta_rho)
    if unbounded:
        why = (f"decoder {decoder}: rho leaves 0 at beta = {beta_rho:.4g} and grows without bound above it, so "
               f"beta = alpha sigma_W^2 = {beta_rho:.4g} is the only non-trivial finite choice "
               "(Li & Nguyen 2019, Secs. 3.2, 3.5)")
        rule = [(beta_rho / alpha, sb, why) for sb in (0.0, 0.01, 0.1)]
    elif beta_rho is not None:
        rule = _edge_candidates(encoder, decoder, alpha, beta_rho, bottleneck)
    kw = dict(alpha=alpha, bottleneck=bottleneck, input_variance=input_variance)

    def pick(cands, why_default=None, ordered=False):
        W = np.array([c[0] for c in cands])
        B = np.array([c[1] for c in cands])
        classes, ph = phases.classify_schemes(encoder, decoder, W, B, with_phases=True, **kw)
        many = evolve_many(encoder, decoder, depth, sigma_w_sq=W, sigma_b_sq=B, **kw)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            s_out, v_out = many.output()
            s = np.abs(s_out)
            v = np.sqrt(np.abs(v_out))
            frac = np.nan_to_num(s / (s + v), nan=0.0)
        if ordered:  # the first of the best class
            best = min(range(len(cands)), key=lambda i: (_RANK[classes[i]], i))
        else:
            best = min(range(len(cands)), key=lambda i: (_RANK[classes[i]], ph[i] != "signal", -frac[i], i))
        return float(W[best]), float(B[best]), why_default or cands[best][2], classes[best]

    if rule:
        got = pick(rule, ordered=unbounded)
        if got[3] == "trainable":
            return got
    return pick(_grid_candidates(alpha), "best of a grid of candidates (trainable before slowed before "
                "infinities, then the signal phase, then the largest signal fraction S_sig / (S_sig + S_var) "
                "at this depth)")


def recommend_init(encoder: str, decoder: str, depth: int, *, alpha: float = 1.0, bottleneck: str | None = None,
                   input_variance: float = 1.0) -> tuple[float, float]:
    """A safe (sigma_W^2, sigma_b^2) for a deep weight-tied autoencoder (see the module docstring).

    Args:
        encoder, decoder: activation names (sigma and phi of the paper).
        depth: L, the number of encoder layers.
        alpha: the width ratio n_l / n_{l-1} of the hidden layers.
        bottleneck: phi_L (default: the decoder's).
        input_variance: taubar_0^2 of the inputs.
    """
    cfg = _validate(encoder, decoder, depth, bottleneck, alpha, None, None, input_variance)
    sw, sb, _, _ = _recommend(cfg.encoder, cfg.decoder, cfg.depth, float(alpha), bottleneck, float(input_variance))
    return sw, sb


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.4g}"


def advise(encoder: str, decoder: str, depth: int, *, bottleneck: str | None = None, alpha: float = 1.0,
           sigma_w_sq: float | None = None, sigma_b_sq: float | None = None,
           input_variance: float = 1.0) -> Advice:
    """Classify an initialisation (the recommended one when ``sigma_w_sq`` is None) with reasons.

    Args:
        encoder, decoder: activation names (sigma and phi).
        depth: L.
        bottleneck: phi_L (default: the decoder's).
        alpha: width ratio of the hidden layers.
        sigma_w_sq, sigma_b_sq: the setting to judge; a missing one is the recommended value (sigma_b_sq
            is 0 when only sigma_w_sq is given).
        input_variance: taubar_0^2 = ||sigma_0(x)||^2 / n_0.
    """
    cfg = _validate(encoder, decoder, depth, bottleneck, alpha, sigma_w_sq, sigma_b_sq, input_variance)
    rec_w, rec_b, rec_why, rec_class = _recommend(cfg.encoder, cfg.decoder, cfg.depth, float(alpha), bottleneck,
                                                  float(input_variance))
    given = sigma_w_sq is not None or sigma_b_sq is not None
    sw = float(sigma_w_sq) if sigma_w_sq is not None else rec_w
    sb = float(sigma_b_sq) if sigma_b_sq is not None else (0.0 if sigma_w_sq is not None else rec_b)
    reasons: list[str] = []
    if not given:
        reasons.append(f"recommended: {rec_why}")
    klass = phases.classify_scheme(encoder, decoder, sw, sb, alpha=alpha, bottleneck=bottleneck,
                                   input_variance=input_variance)
    res = phases.setting_phase(encoder, decoder, sw, sb, alpha=alpha, input_variance=input_variance,
                               bottleneck=bottleneck)
    phase = str(res.phase[()])
    t2 = float(res.tau_bar_sq)
    beta = alpha * sw
    if np.isfinite(t2):
        fp = inf_depth.forward_fixed_point(encoder, sw, sb, start=sw * input_variance + sb)
        slope = float(fp.slope)
        kind = "marginal: a line of fixed points" if abs(slope - 1) < 1e-6 else "stable" if slope < 1 else "unstable"
        reasons.append(f"forward fixed point taubar^2 = {t2:.4g} (T' = {slope:.3g}, {kind}; sigma_W,max^2 = "
                       f"{float(inf_depth.sigma_w_max_sq(encoder, max(t2, 1e-12))):.4g})")
    else:
        reasons.append("the forward variance has no fixed point: taubar^2 grows without bound with depth")
    reasons.append(f"phase {phase}: {phases.PHASES[phase]}; beta = alpha sigma_W^2 = {beta:.4g}")
    s_bulk, v_bulk = float(res.s_sig), float(res.s_var)
    ev = evolve(cfg.network(sw, sb))
    if ev.finite:
        s_out, v_out = ev.s_sig, ev.s_var
        reasons.append(f"at depth {depth}: output = {s_out:.3g} x input + {v_out:.3g} x noise (S_sig, S_var of "
                       f"Theorem 1); at infinite depth S_sig = {_fmt(s_bulk)}, S_var = {_fmt(v_bulk)}")
    else:
        s_out = v_out = math.inf
        reasons.append(f"at depth {depth} the scalars overflow at layer {ev.infinite_layer}")
    nearest, dist = None, None
    if np.isfinite(t2):
        tr = inf_depth.transitions(encoder, decoder, max(t2, 1e-12), bottleneck=bottleneck)
        marks = ([("rho", tr.rho)] if tr.rho is not None else []) + [("gamma", g) for g in tr.gamma]
        if marks:
            nearest, at = min(marks, key=lambda m: abs(beta - m[1]))
            dist = beta - at
            reasons.append(f"nearest transition: {nearest} at beta = {at:.4g} (distance {dist:+.3g} in beta)")
    reasons.append({"trainable": "Table 1's rule: trainable (finite scalars, not trivial in a neighbourhood)",
                    "slowed": "Table 1's rule: slowed (gamma = rho = 0 here and at the neighbouring settings)",
                    "infinities": "Table 1's rule: numerical infinities (taubar, gamma or rho infinite)"}[klass])
    if given:
        reasons.append(f"recommended instead: sigma_W^2 = {rec_w:.4g}, sigma_b^2 = {rec_b:.4g} "
                       f"({rec_class}; {rec_why})")
    return Advice(encoder=cfg.encoder if isinstance(cfg.encoder, str) else encoder, decoder=decoder,
                  bottleneck=bottleneck or decoder, depth=depth, alpha=float(alpha), sigma_w_sq=sw, sigma_b_sq=sb,
                  phase=phase, classification=klass, s_sig=float(s_out), s_var=float(v_out), s_sig_bulk=s_bulk,
                  s_var_bulk=v_bulk, tau_bar_sq=t2, beta=beta, nearest_transition=nearest,
                  distance_to_transition=dist, recommended=(rec_w, rec_b), reasons=reasons)
