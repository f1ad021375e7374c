"""Quadrature oracles: closed forms = quadrature (1e-10) = Monte Carlo (within 4 standard errors)."""

import numpy as np
import pytest

from aelab.activations import GaussianMoments, activation_names, get_activation
from aelab.gaussian import expect_1d, expect_2d, expect_nd

ONE_VAR = ["e_f", "e_f2", "e_df", "e_df2", "e_df_u", "e_df_u2"]
TWO_VAR = ["e_ff", "e_dfdf", "e_df1f2", "e_u1df1f2"]
SETTINGS = [(0.0, 0.0, 0.7, 1.2, 0.3), (0.3, -0.7, 0.7, 1.2, 0.3), (0.0, 0.0, 2.0, 0.5, -0.9),
            (-1.1, 0.4, 0.2, 3.0, 0.7), (0.0, 0.0, 1.0, 1.0, 1.0)]


def test_polynomial_moments_exact():
    assert expect_1d(lambda x: x**4, 0.5, 2.0) == pytest.approx(0.5**4 + 6 * 0.25 * 2 + 3 * 4, rel=1e-12)
    # E[x1^2 x2^2] = v1 v2 + 2 c^2 for zero means
    assert expect_2d(lambda a, b: a**2 * b**2, 0, 0, 0.7, 1.2, 0.3) == pytest.approx(0.7 * 1.2 + 2 * 0.09, rel=1e-12)
    cov = np.array([[0.7, 0.3, 0.2], [0.3, 1.2, 0.4], [0.2, 0.4, 0.9]])
    assert expect_nd(lambda x: x[:, 0] * x[:, 1] * x[:, 2] ** 2, np.zeros(3), cov) == pytest.approx(
        0.3 * 0.9 + 2 * 0.2 * 0.4, rel=1e-12)


def test_kinks_split_exactly():
    # E[|x|] = s sqrt(2/pi): a kink at 0 that a plain Hermite rule resolves badly
    for mean in (0.0, 0.37):
        exact = expect_1d(np.abs, mean, 1.3, kinks=(0.0,))
        s = np.sqrt(1.3)
        from scipy.stats import norm
        ref = s * np.sqrt(2 / np.pi) * np.exp(-mean**2 / (2 * 1.3)) + mean * (1 - 2 * norm.cdf(-mean / s))
        assert exact == pytest.approx(ref, abs=1e-12)


# wide Gaussians (standard deviations up to 100), where the graded rule takes over
WIDE = [(0.0, 0.0, 9.0, 9.0, 4.0), (0.7, -1.3, 25.0, 4.0, 9.0), (0.0, 0.3, 1e4, 0.5, 50.0),
        (-2.0, 2.0, 100.0, 100.0, 99.9)]


@pytest.mark.parametrize("name", ["linear", "erf", "relu"])
@pytest.mark.parametrize("setting", SETTINGS + WIDE)
def test_closed_forms_equal_quadrature(name, setting):
    act = get_activation(name)
    closed, quad = act.moments, GaussianMoments(act)
    m1, m2, v1, v2, c = setting
    scale = max(1.0, v1, v2)  # the moments of x grow with the variance
    for meth in ONE_VAR:
        got, ref = getattr(closed, meth)(m1, v1), getattr(quad, meth)(m1, v1)
        assert got == pytest.approx(ref, abs=1e-10 * scale), meth
    for meth in TWO_VAR:
        got, ref = getattr(closed, meth)(m1, m2, v1, v2, c), getattr(quad, meth)(m1, m2, v1, v2, c)
        assert got == pytest.approx(ref, abs=1e-9 * scale), meth


def test_reference_values():
    """Values at C = [[0.7, 0.3], [0.3, 1.2]] (Refinetti & Goldt integrals, checked by Monte Carlo)."""
    erf, relu = get_activation("erf").moments, get_activation("relu").moments
    assert erf.e_ff(0, 0, 0.7, 1.2, 0.3) == pytest.approx(0.099157, abs=1e-6)
    assert relu.e_ff(0, 0, 0.7, 1.2, 0.3) == pytest.approx(0.22875, abs=1e-5)
    # J2 = E[x1 g(x2)] = c E[g'(x2)] (Stein) = sqrt(2/pi) c / sqrt(1 + v2)
    assert 0.3 * erf.e_df(0, 1.2) == pytest.approx(0.161380, abs=1e-6)


@pytest.mark.parametrize("name", activation_names())
def test_moments_against_monte_carlo(name):
    act = get_activation(name)
    m1, m2, v1, v2, c = 0.2, -0.4, 0.8, 1.1, 0.35
    rng = np.random.default_rng(7)
    n = 400_000
    z = rng.multivariate_normal([m1, m2], [[v1, c], [c, v2]], size=n)
    x1, x2 = z[:, 0], z[:, 1]
    samples = {
        "e_df": act.df(x1),
        "e_df_u2": act.df(x1) * (x1 - m1) ** 2,
        "e_ff": act.f(x1) * act.f(x2),
        "e_u1df1f2": (x1 - m1) * act.df(x1) * act.f(x2),
        "e_df1f2": act.df(x1) * act.f(x2),
    }
    for meth, s in samples.items():
        args = (m1, v1) if meth in ONE_VAR else (m1, m2, v1, v2, c)
        value = float(getattr(act.moments, meth)(*args))
        sem = s.std() / np.sqrt(n)
        assert abs(value - s.mean()) < 4 * sem + 1e-12, (meth, value, s.mean(), sem)


def test_broadcasting_over_grids():
    act = get_activation("tanh")
    v = np.linspace(0.1, 2, 7)[:, None]
    c = np.linspace(-0.05, 0.05, 5)[None, :]
    out = act.moments.e_ff(0.0, 0.0, v, v, c * v)
    assert out.shape == (7, 5)
    one = act.moments.e_ff(0.0, 0.0, v[3, 0], v[3, 0], c[0, 2] * v[3, 0])
    assert out[3, 2] == pytest.approx(float(one), abs=1e-14)


def test_degenerate_covariance():
    """Perfectly correlated pairs reduce to one-variable integrals, also across a kink."""
    for name in ("relu", "erf", "tanh"):
        act = get_activation(name)
        two = act.moments.e_ff(0.1, 0.1, 0.9, 0.9, 0.9)
        one = act.moments.e_f2(0.1, 0.9)
        assert two == pytest.approx(one, abs=1e-9), name



@pytest.mark.parametrize("mean, var", [(0.0, 9.0), (1.0, 25.0), (2.0, 1e4), (0.2, 2.0)])
def test_wide_tanh_against_adaptive_quadrature(mean, var):
    """E tanh(x)^2 for a wide Gaussian: a fixed Gauss-Hermite rule is off by 4e-4 at var = 9."""
    from scipy.integrate import quad

    s = np.sqrt(var)
    density = lambda z: np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)  # noqa: E731
    ref = quad(lambda z: np.tanh(mean + s * z) ** 2 * density(z), -40, 40, points=[-mean / s], limit=500,
               epsabs=1e-15)[0]
    assert GaussianMoments(get_activation("tanh")).e_f2(mean, var) == pytest.approx(ref, abs=1e-12)
    plain = expect_1d(lambda x: np.tanh(x) ** 2, mean, var, n=96, graded=False)
    assert abs(plain - ref) > 1e-9 or var < 4  # the plain rule alone would not do


def test_wide_tanh_two_variables_against_adaptive_quadrature():
    from scipy.integrate import dblquad

    m1, m2, v1, v2, c = 0.1, -0.2, 9.0, 4.0, 3.0
    chol = np.linalg.cholesky(np.array([[v1, c], [c, v2]]))

    def integrand(z2, z1):
        x1 = m1 + chol[0, 0] * z1
        x2 = m2 + chol[1, 0] * z1 + chol[1, 1] * z2
        return np.tanh(x1) * np.tanh(x2) * np.exp(-0.5 * (z1 * z1 + z2 * z2)) / (2 * np.pi)

    ref = dblquad(integrand, -12, 12, -12, 12, epsabs=1e-13, epsrel=1e-13)[0]
    assert GaussianMoments(get_activation("tanh")).e_ff(m1, m2, v1, v2, c) == pytest.approx(ref, abs=1e-10)
