"""The configuration shown in docs/train.md is valid and is the paper's scheme 7."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from aelab.train.config import TrainConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "train.md"


def test_the_documented_configuration_validates():
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S).group(1)
    cfg = TrainConfig.model_validate(yaml.safe_load(block))
    assert (cfg.model.depth, cfg.model.width, cfg.model.tied) == (100, 400, True)
    assert (cfg.init.sigma_w_sq, cfg.init.sigma_b_sq, cfg.train.batch_size) == (1.05, 2.01e-5, 250)
