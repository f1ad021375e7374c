"""A shallow experiment resolved into objects: the sample source (with its covariance), the network,
the training rule, the seeds. Theory and SGD read this, never the configuration itself.

:func:`resolve` turns a :class:`~aelab.shallow.config.ShallowConfig` into a :class:`Problem`
(loading a data set's images when the config names one); the initial weights and the ODE set-up
live here, once, for every source.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aelab.activations import Activation, get_activation
from aelab.data.synthetic import Covariance
from aelab.shallow.sources import FiniteSource, GaussianSource, ImageSource, SampleSource, stream

__all__ = ["Network", "Rule", "Problem", "resolve", "as_problem"]


@dataclass(frozen=True)
class Network:
    """x_hat = sum_k v_k g(lambda_k) (Refinetti & Goldt 2022, eq. 1); see :class:`~aelab.shallow.config.ModelConfig`.

    ``activation`` is the registry name (or ``module:attribute``); :attr:`act` the activation itself
    (looked up again after pickling, so that a problem travels to worker processes).
    """

    K: int
    activation: str
    tied: bool = False
    bias: bool = False
    init_std: float = 0.1
    skip: bool = False
    skip_init: float = 0.0

    @functools.cached_property
    def act(self) -> Activation:
        return get_activation(self.activation)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "act"}

    def __setstate__(self, state):
        self.__dict__.update(state)


@dataclass(frozen=True)
class Rule:
    """Online SGD: learning rate, truncated or vanilla, weight decay; ``sanger`` for a tied linear
    network with the truncated rule (Sanger's rule, :mod:`aelab.shallow.sanger`)."""

    lr: float
    truncated: bool = False
    weight_decay: float = 0.0
    sanger: bool = False


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything theory and simulation need, resolved.

    Attributes:
        source: where the SGD samples come from; ``source.cov`` is the covariance of the theory.
        network, rule: the model and how it is trained.
        seeds: the simulation's seeds.
        shared_init: every seed starts from the initial weights of the first seed.
        pcs: leading principal directions whose overlaps are recorded.
        noise: Delta, the variance of the input noise (a denoising autoencoder; 0: none).
        pixel_basis: (D, D) eigenvectors of a data set's covariance: initial weights are drawn in
            pixel space and rotated (so every source of one data set starts from one point), else None.
    """

    source: SampleSource
    network: Network
    rule: Rule
    seeds: tuple[int, ...] = (0,)
    shared_init: bool = True
    pcs: int = 4
    noise: float = 0.0
    pixel_basis: np.ndarray | None = None

    @property
    def cov(self) -> Covariance:
        return self.source.cov

    @property
    def D(self) -> int:
        return self.source.D

    def initial_weights(self, seed: int, *, basis: str = "eigen") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Initial (W, V, bias) of ``seed``: i.i.d. N(0, init_std^2) weights (stream ``init``), zero biases.

        With ``shared_init`` every seed uses the first seed's weights; for tied networks W is a copy
        of V. ``basis``: ``eigen`` (the theory's) or ``source`` (the basis the SGD samples come in).
        """
        net = self.network
        rng = stream(self.seeds[0] if self.shared_init else seed, "init")
        W = net.init_std * rng.standard_normal((net.K, self.D))
        V = net.init_std * rng.standard_normal((net.K, self.D))
        if net.tied:
            W = V.copy()
        E = self.pixel_basis
        if E is not None and not (basis == "source" and self.source.rotation is not None):
            W, V = W @ E, V @ E  # pixel space -> eigenbasis
        elif E is None and basis == "source":
            W, V = self.source.from_eigen(W), self.source.from_eigen(V)
        return W, V, np.zeros(net.K)

    def initial_state(self, seed: int | None = None):
        """The state (overlaps in the eigenbasis) of the initial weights of ``seed`` (default: the first)."""
        from aelab.shallow.state import state_from_weights

        W, V, bias = self.initial_weights(self.seeds[0] if seed is None else seed)
        return state_from_weights(W, V, bias, self.cov, tied=self.network.tied, skip=self.initial_skip)

    @property
    def initial_skip(self) -> float:
        """s(0): ``model.skip_init`` with a skip, else 0."""
        return self.network.skip_init if self.network.skip else 0.0

    def ode_system(self):
        """The ODE of this problem (Sanger's rule for a tied linear truncated network)."""
        if self.rule.sanger:
            from aelab.shallow.sanger import SangerSystem

            return SangerSystem(cov=self.cov, lr=self.rule.lr, K=self.network.K)
        from aelab.shallow.ode import OdeSystem

        net, rule = self.network, self.rule
        return OdeSystem(cov=self.cov, act=net.act, lr=rule.lr, K=net.K, tied=net.tied, train_bias=net.bias,
                         truncated=rule.truncated, weight_decay=rule.weight_decay, noise=self.noise,
                         train_skip=net.skip)

    def sgd_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`aelab.shallow.sgd.sgd_steps` for this problem."""
        net, rule = self.network, self.rule
        return dict(lr=rule.lr, act=net.act, tied=net.tied, train_bias=net.bias, truncated=rule.truncated,
                    weight_decay=rule.weight_decay, noise=self.noise)


def resolve(config, *, images=None, data_dir: str | Path | None = None, inputs: str | None = None) -> Problem:
    """The :class:`Problem` of a :class:`~aelab.shallow.config.ShallowConfig`.

    Args:
        config: the validated configuration.
        images: preprocessed images (:class:`~aelab.shallow.real_data.RealData`) to use instead of
            loading ``data.dataset`` (tests, or several runs on one loaded data set).
        data_dir: where the data sets are (default: :func:`aelab.data.data_dir`).
        inputs: override of ``data.inputs`` (``gaussian`` or ``images``).
    """
    d = config.data
    kind = d.source_kind if inputs is None else ("images" if inputs == "images" else
                                                  "finite" if d.samples is not None and d.dataset is None
                                                  else "gaussian")
    pixel_basis = None
    if d.dataset is not None or images is not None:
        from aelab.shallow.real_data import load_images

        data = images if images is not None else load_images(d, data_dir=data_dir)
        cov, pixel_basis = data.covariance(), data.eigenvectors
        source: SampleSource = (ImageSource(cov, train=data.train, test=data.test, eigenvectors=data.eigenvectors)
                                if kind == "images" else
                                GaussianSource(cov, test=data.test, pixel_basis=data.eigenvectors))
    elif kind == "finite":
        source = FiniteSource(d.covariance(), N=d.samples)
    else:
        source = GaussianSource(d.covariance())
    m, t = config.model, config.train
    network = Network(K=m.K, activation=m.activation, tied=m.tied, bias=m.bias, init_std=m.init_std, skip=m.skip,
                      skip_init=m.skip_init)
    rule = Rule(lr=t.lr, truncated=t.rule == "truncated", weight_decay=t.weight_decay, sanger=config.sanger_rule)
    return Problem(source=source, network=network, rule=rule, seeds=tuple(t.seeds), shared_init=t.shared_init,
                   pcs=config.output.pcs, noise=t.input_noise, pixel_basis=pixel_basis)


def as_problem(config_or_problem) -> Problem:
    """A :class:`Problem` as it is, or the one a configuration resolves to."""
    return config_or_problem if isinstance(config_or_problem, Problem) else resolve(config_or_problem)
