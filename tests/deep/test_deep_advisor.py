"""The initialisation advisor: its recommendations are trainable by the theory's own rule, it
reproduces the paper's choices, and bad input is refused with the field named."""

import dataclasses

import pytest

from aelab.deep.advisor import Advice, advise, classify_scheme, recommend_init
from aelab.errors import ConfigError


@pytest.mark.parametrize("enc, dec", [("relu", "relu"), ("tanh", "relu"), ("tanh", "tanh"), ("relu", "tanh"),
                                      ("erf", "erf"), ("tanh", "leaky_relu")])
def test_recommendation_is_trainable(enc, dec):
    sw, sb = recommend_init(enc, dec, 50)
    assert sw > 0 and sb >= 0
    assert classify_scheme(enc, dec, sw, sb) == "trainable"


def test_recommendation_matches_the_paper():
    # ReLU decoder: sigma_W^2 = 2 / alpha, sigma_b^2 = 0 whatever the encoder (Sec. 3.5)
    assert recommend_init("tanh", "relu", 100) == pytest.approx((2.0, 0.0))
    assert recommend_init("relu", "relu", 100, alpha=2.0) == pytest.approx((1.0, 0.0))
    # tanh/tanh: the decoder's edge of chaos at small taubar, like scheme 7 (1.05, 2e-5)
    sw, sb = recommend_init("tanh", "tanh", 100)
    assert sw == pytest.approx(1.05, abs=0.02) and sb < 1e-3


def test_advice_for_a_given_setting():
    a = advise("tanh", "tanh", 100, sigma_w_sq=2.312, sigma_b_sq=0.211)
    assert isinstance(a, Advice) and dataclasses.is_dataclass(a)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.phase = "x"  # type: ignore[misc]
    assert (a.sigma_w_sq, a.sigma_b_sq) == (2.312, 0.211)
    assert a.phase == "noise" and a.classification == "trainable"
    assert a.s_sig < 1e-6 < a.s_var  # gamma -> 0 at depth 100, the output is noise
    assert a.nearest_transition == "gamma" and a.distance_to_transition == pytest.approx(2.312 - 3.3927, abs=5e-3)
    assert any("Table 1" in r for r in a.reasons) and any("recommended instead" in r for r in a.reasons)
    b = advise("relu", "relu", 20, sigma_w_sq=1.0, sigma_b_sq=0.1)
    assert b.classification == "slowed" and b.phase == "trivial"
    c = advise("relu", "relu", 20, sigma_w_sq=2.5, sigma_b_sq=0.0)
    assert c.classification == "infinities" and c.phase == "infinite"


def test_advice_without_a_setting_judges_the_recommendation():
    a = advise("tanh", "relu", 100)
    assert (a.sigma_w_sq, a.sigma_b_sq) == a.recommended == pytest.approx((2.0, 0.0))
    assert a.classification == "trainable" and a.reasons[0].startswith("recommended")


@pytest.mark.parametrize("kwargs, option", [
    ({"encoder": "nope"}, "encoder"), ({"decoder": "nope"}, "decoder"), ({"depth": 0}, "depth"),
    ({"sigma_w_sq": 0.0}, "sigma_w_sq"), ({"sigma_w_sq": -1.0}, "sigma_w_sq"),
    ({"sigma_b_sq": -0.1}, "sigma_b_sq"), ({"alpha": 0.0}, "alpha"),
    ({"input_variance": 0.0}, "input_variance"), ({"input_variance": float("inf")}, "input_variance"),
    ({"bottleneck": "nope"}, "bottleneck"),
])
def test_bad_input_names_the_option(kwargs, option):
    args = {"encoder": "tanh", "decoder": "relu", "depth": 10}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=option):
        advise(args.pop("encoder"), args.pop("decoder"), args.pop("depth"), **args)
