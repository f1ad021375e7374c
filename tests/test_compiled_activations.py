"""One compiled activation module for shallow and deep: codes, values, and the numeric self-check."""

import warnings

import numpy as np
import pytest

from aelab.activations import Activation, get_activation
from aelab.compiled_activations import (CHECK_GRID, CODES, CompiledActivationWarning, act_df, act_f, act_fdf,
                                        compiled_code)
from aelab.deep import engine
from aelab.shallow.sgd import sgd_steps, sgd_steps_numpy

NAMES = sorted(CODES) + ["leaky_relu(0.2)"]


@pytest.mark.parametrize("name", NAMES)
def test_compiled_functions_equal_the_registry(name):
    act = get_activation(name)
    code, p = compiled_code(act)
    x = np.linspace(-9.0, 9.0, 1001)
    np.testing.assert_allclose([act_f(code, p, v) for v in x], act.f(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose([act_df(code, p, v) for v in x], act.df(x), rtol=1e-13, atol=1e-15)
    fdf = np.array([act_fdf(code, p, v) for v in x])
    np.testing.assert_allclose(fdf[:, 0], act.f(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fdf[:, 1], act.df(x), rtol=1e-13, atol=1e-15)


def test_shallow_and_deep_share_the_codes():
    for name in NAMES:
        act = get_activation(name)
        assert engine.kernel_code(act) == compiled_code(act)
    assert compiled_code(get_activation("leaky_relu(0.2)")) == (CODES["leaky_relu"], 0.2)


def _fake_tanh():
    return Activation("tanh", lambda x: np.tanh(2.0 * x), lambda x: 2.0 / np.cosh(2.0 * x) ** 2)


def test_impostor_named_tanh_runs_numpy_paths_with_one_warning():
    fake = _fake_tanh()
    with pytest.warns(CompiledActivationWarning, match="tanh") as record:
        assert compiled_code(fake) is None
        assert engine.kernel_code(fake) is None  # deep: the reference path
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compiled_code(fake) is None  # checked once per activation: no second warning


def test_impostor_trains_with_its_own_function():
    fake = _fake_tanh()
    with pytest.warns(CompiledActivationWarning):
        compiled_code(fake)
    rng = np.random.default_rng(0)
    D, K = 40, 2
    W, V = rng.standard_normal((K, D)), rng.standard_normal((K, D))
    b, std, Z = np.zeros(K), np.ones(D), rng.standard_normal((4, D))
    got = [W.copy(), V.copy(), b.copy()]
    ref = [W.copy(), V.copy(), b.copy()]
    real = [W.copy(), V.copy(), b.copy()]
    sgd_steps(*got, Z, std, lr=0.5, act=fake)
    sgd_steps_numpy(*ref, Z, std, lr=0.5, act=fake)
    sgd_steps(*real, Z, std, lr=0.5, act=get_activation("tanh"))
    np.testing.assert_array_equal(got[1], ref[1])
    assert not np.allclose(got[1], real[1])


def test_a_derivative_impostor_is_caught():
    # right function, wrong derivative: the check covers both
    bad = Activation("erf", get_activation("erf").f, lambda x: np.exp(-0.5 * np.square(x)))
    with pytest.warns(CompiledActivationWarning):
        assert compiled_code(bad) is None


def test_the_check_grid_holds_the_kinks():
    for kink in (0.0, -1.0, 1.0):
        assert np.any(CHECK_GRID == kink)


def test_an_activation_that_cannot_take_the_grid_is_not_compiled():
    def scalar_only(x):
        return float(np.tanh(x))  # TypeError on an array

    odd = Activation("tanh", scalar_only, lambda x: 1.0 - np.tanh(x) ** 2)
    with pytest.warns(CompiledActivationWarning):
        assert compiled_code(odd) is None


def test_a_name_without_a_compiled_twin_is_not_checked():
    cube = Activation("cube_ca", lambda x: x**3, lambda x: 3 * x**2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compiled_code(cube) is None
