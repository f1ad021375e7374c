"""Li & Nguyen (2019), Table 1: the fourteen Gaussian initialisations of a deep weight-tied autoencoder.

The paper's classes are kept for comparison only: :func:`aelab.deep.phases.classify_scheme`
computes the theory's class of any setting, and the studies print the two side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Scheme", "SCHEMES", "TRAINABLE", "SLOWED", "INFINITIES"]

TRAINABLE, SLOWED, INFINITIES = "trainable", "slowed", "infinities"


@dataclass(frozen=True)
class Scheme:
    """One row of Table 1 (alpha = 1, bottleneck phi_L = ReLU).

    Attributes:
        number: 1..14 as in the paper.
        decoder, encoder: phi and sigma (``relu`` or ``tanh``).
        sigma_w_sq, sigma_b_sq: the Gaussian initialisation.
        paper_class: the class the paper's Table 1 gives.
        eoc: on the edge of chaos of the encoder (``x``), Pennington et al.'s best tanh scheme (``xx``).
    """

    number: int
    decoder: str
    encoder: str
    sigma_w_sq: float
    sigma_b_sq: float
    paper_class: str
    eoc: str = ""


SCHEMES: tuple[Scheme, ...] = (
    Scheme(1, "relu", "relu", 2.0, 0.0, TRAINABLE, "x"),
    Scheme(2, "relu", "relu", 1.0, 0.1, SLOWED),
    Scheme(3, "relu", "relu", 2.5, 0.0, INFINITIES),
    Scheme(4, "relu", "tanh", 2.0, 0.0, TRAINABLE),
    Scheme(5, "relu", "tanh", 1.05, 2.01e-5, SLOWED, "xx"),
    Scheme(6, "relu", "tanh", 2.505, 0.3, INFINITIES),
    Scheme(7, "tanh", "tanh", 1.05, 2.01e-5, TRAINABLE, "xx"),
    Scheme(8, "tanh", "tanh", 0.5, 0.0136, SLOWED),
    Scheme(9, "tanh", "tanh", 2.312, 0.211, TRAINABLE, "x"),
    Scheme(10, "tanh", "tanh", 0.5, 0.986, SLOWED),
    Scheme(11, "tanh", "tanh", 1.0, 0.771, TRAINABLE),
    Scheme(12, "tanh", "relu", 2.0, 0.0, TRAINABLE, "x"),
    Scheme(13, "tanh", "relu", 1.0, 0.1, TRAINABLE),
    Scheme(14, "tanh", "relu", 0.5, 0.15, SLOWED),
)
