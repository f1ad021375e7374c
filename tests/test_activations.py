"""Activation registry: lookup, derivatives, torch parity, errors."""

import numpy as np
import pytest

from aelab.activations import Activation, activation_names, get_activation
from aelab.errors import ConfigError


@pytest.mark.parametrize("name", activation_names())
def test_derivative_matches_finite_difference(name):
    act = get_activation(name)
    x = np.array([-2.3, -0.7, -0.1, 0.2, 0.9, 1.7])
    h = 1e-6
    fd = (act.f(x + h) - act.f(x - h)) / (2 * h)
    assert np.allclose(act.df(x), fd, atol=1e-6)


@pytest.mark.parametrize("name", activation_names())
def test_torch_matches_numpy(name):
    torch = pytest.importorskip("torch")
    act = get_activation(name)
    x = np.linspace(-3, 3, 13)
    assert np.allclose(act.torch(torch.tensor(x)).numpy(), act.f(x), atol=1e-12)


def test_lookup_variants():
    assert get_activation("ReLU").name == "relu"
    assert get_activation("identity").name == "linear"
    assert get_activation("leaky_relu(0.2)").f(np.array([-1.0]))[0] == pytest.approx(-0.2)
    custom = get_activation("aelab.activations:_REGISTRY") if False else None
    assert custom is None


def test_user_activation_by_import_path(tmp_path, monkeypatch):
    mod = tmp_path / "myact.py"
    mod.write_text(
        "import numpy as np\nfrom aelab.activations import Activation\n"
        "cube = Activation('cube', lambda x: x**3 / 3, lambda x: x**2)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    act = get_activation("myact:cube")
    assert isinstance(act, Activation)
    # E[g'(x)] = E[x^2] = v for the user's function, by quadrature
    assert act.moments.e_df(0.0, 0.8) == pytest.approx(0.8, rel=1e-12)


@pytest.mark.parametrize("bad", ["swish", "", "nomodule:thing", "leaky_relu(1.5)"])
def test_unknown_activation_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        get_activation(bad)
