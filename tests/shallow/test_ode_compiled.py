"""The fast right-hand sides of the shallow ODE (compiled kernel, batched quadrature) = the NumPy reference."""

from dataclasses import replace

import numpy as np
import pytest

from aelab.activations import Activation, get_activation
from aelab.shallow.ode import OdeSystem, _by_quadrature, integrate
from aelab.shallow.state import State

K = 3
SETTINGS = [dict(tied=t, train_bias=b, truncated=tr, weight_decay=wd)
            for t, b, tr, wd in [(False, False, False, 0.0), (False, True, False, 0.1), (True, False, False, 0.0),
                                 (True, True, False, 0.2), (False, False, True, 0.0), (False, True, True, 0.05),
                                 (True, False, True, 0.1)]]



def _system(act, k=K, **kw):
    from aelab.shallow.config import ShallowConfig

    cfg = ShallowConfig.model_validate({"data": {"D": 400, "spikes": [0.6, 0.3], "bulk": 0.1},
                                        "model": {"K": K, "activation": "linear"}})
    return OdeSystem(cov=cfg.data.covariance(), act=get_activation(act) if isinstance(act, str) else act,
                     lr=0.8, K=k, **kw)


def _state(system, scale, bias_scale, seed):
    rng = np.random.default_rng(seed)
    M, K = system.cov.M, system.K
    B = scale * rng.standard_normal((M, K))
    G = scale * rng.standard_normal((2 * K, 3 * K))
    S = G @ G.T / (3 * K)
    if system.tied:
        S = np.tile(S[K:, K:], (2, 2))
        A = B
    else:
        A = scale * rng.standard_normal((M, K))
    return State(A=A, B=B, S=S, bias=bias_scale * rng.standard_normal(K))


def _compare(system, state):
    y = system.pack(state)
    fast = system.rhs(0.0, y, state.bias)
    ref = replace(system, compiled=False).rhs(0.0, y, state.bias)
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(ref)))
    # the reference itself is the original, one-moment-at-a-time path
    np.testing.assert_array_equal(ref, system.pack(system.derivative(system.unpack(y, state.bias))))


@pytest.mark.parametrize("act", ["erf", "relu", "linear", "tanh", "sigmoid", "hardtanh"])
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("scale", [0.3, 1.5])  # small fields: plain rules; wide fields: graded rules
def test_fast_rhs_equals_reference(act, setting, scale):
    system = _system(act, **setting)
    for seed, bias_scale in [(0, 0.0), (1, 0.4)]:
        _compare(system, _state(system, scale, bias_scale, seed))


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("act", ["erf", "linear"])
def test_compiled_kernel_equals_reference_for_any_number_of_units(act, k):
    for setting in SETTINGS:
        system = _system(act, k=k, **setting)
        for seed, bias_scale in [(2, 0.0), (3, 0.4)]:
            _compare(system, _state(system, 0.7, bias_scale, seed))


@pytest.mark.parametrize("act,bias,expected", [("erf", 0.0, True), ("linear", 0.0, True), ("linear", 0.5, True),
                                               ("erf", 0.5, False), ("relu", 0.0, False), ("tanh", 0.0, False)])
def test_the_compiled_kernel_runs_where_it_applies(act, bias, expected):
    system = _system(act)
    assert (system._kernel_code(np.full(K, bias)) is not None) == expected
    assert (system._kernel_code(None) is not None) == (act in ("erf", "linear"))
    assert _by_quadrature(get_activation(act)) == (act in ("tanh", "sigmoid", "hardtanh"))


def test_a_user_activation_takes_the_batched_path():
    cube = Activation("cube_ode", lambda x: x**3 / 3 - x, lambda x: x**2 - 1)
    system = _system(cube)
    assert system._kernel_code(None) is None and _by_quadrature(cube)
    _compare(system, _state(system, 0.5, 0.3, 4))


@pytest.mark.parametrize("act", ["erf", "tanh"])
def test_integrations_agree(act):
    system = _system(act)
    s0 = _state(system, 0.3, 0.0, 5)
    times = np.linspace(0.0, 20.0, 5)
    a = integrate(system, s0, times)
    b = integrate(replace(system, compiled=False), s0, times)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.B, y.B, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("act", ["relu", "erf", "tanh", "linear"])
def test_pair_moments_equal_the_single_moments(act):
    mom = get_activation(act).moments
    rng = np.random.default_rng(6)
    m1, m2 = rng.normal(0, 0.5, (2, 3, 1)), rng.normal(0, 0.5, (2, 1, 3))
    v1, v2 = rng.uniform(0.1, 2.0, (3, 1)), rng.uniform(0.1, 2.0, (1, 3))
    c = rng.uniform(-0.9, 0.9, (3, 3)) * np.sqrt(v1 * v2)
    c[np.diag_indices(3)] = np.sqrt(v1 * v2).diagonal()  # a unit with itself: perfect correlation
    m1, m2 = m1[0], m2[0]
    single = [mom.e_ff(m1, m2, v1, v2, c), mom.e_dfdf(m1, m2, v1, v2, c), mom.e_u1df1f2(m1, m2, v1, v2, c),
              mom.e_df1f2(m1, m2, v1, v2, c)]
    for got, want in zip(mom.pair_moments(m1, m2, v1, v2, c, with_df1f2=True), single):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    assert len(mom.pair_moments(m1, m2, v1, v2, c)) == 3


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "hardtanh"])
@pytest.mark.parametrize("std", [0.3, 0.7, 1.5, 6.0])  # plain Gauss-Hermite rule up to 0.75, graded above
def test_compiled_quadrature_sums_equal_the_numpy_sums(act, std):
    from aelab.shallow.ode import _quadrature_moments

    rng = np.random.default_rng(7)
    G = rng.standard_normal((3, 5))
    Q = std**2 * G @ G.T / np.max(np.diag(G @ G.T))
    m = rng.normal(0.0, 0.5, 3)
    q = Q.diagonal().copy()
    fast = _quadrature_moments(get_activation(act), m, q, Q)
    ref = _quadrature_moments(get_activation(act), m, q, Q, compiled=False)
    assert fast.keys() == ref.keys()
    for name in ref:
        np.testing.assert_allclose(fast[name], ref[name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("setting", SETTINGS)
def test_softplus_rhs_on_the_strip_rule_equals_reference(setting):
    system = _system("softplus", **setting)
    for seed, bias_scale in [(0, 0.0), (1, 0.4)]:
        _compare(system, _state(system, 0.8, bias_scale, seed))


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_the_kernel_runs_up_to_the_strip_rules_width_and_hands_over_above(act):
    from aelab.gaussian import STRIP_MAX_STD

    system = _system(act, train_bias=True)
    base = _state(system, 0.8, 0.3, 8)
    for target in (0.9 * STRIP_MAX_STD, 1.5 * STRIP_MAX_STD):
        grow = target / np.sqrt(np.max(system.coefficients(base)["q"]))  # fields scale with A and S_aa
        d = np.r_[np.full(system.K, grow), np.ones(system.K)]
        state = State(A=grow * base.A, B=base.B, S=d[:, None] * base.S * d, bias=base.bias)
        assert (system._compiled_rhs(system.pack(state), state.bias) is not None) == (target <= STRIP_MAX_STD)
        _compare(system, state)


def test_a_user_activation_without_a_strip_keeps_its_rules():
    from aelab.shallow.ode import _quadrature_moments

    tanh = Activation("tanh_plain", np.tanh, lambda x: 1.0 - np.tanh(x) ** 2)
    assert _system(tanh)._kernel_args(None) is None
    m, q, Q = np.zeros(2), np.array([0.5, 1.5]), np.array([[0.5, 0.2], [0.2, 1.5]])
    got = _quadrature_moments(tanh, m, q, Q, compiled=False)["i2"]
    np.testing.assert_allclose(got, tanh.moments.e_ff(m[:, None], m[None, :], q[:, None], q[None, :], Q), rtol=1e-14)
