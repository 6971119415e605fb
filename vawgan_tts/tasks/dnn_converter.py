"""Parallel voice conversion with a DNN: source frames with context in, target statics + Δ + ΔΔ out.

Loss: mean squared error over the normalized output dimensions (each target feature standardized
by its training mean and standard deviation). The trajectory is made from the predicted means by
MLPG (:mod:`vawgan_tts.mlpg`) with the variances of the training residuals.
"""

from __future__ import annotations

import dataclasses

import torch

from ..config import check_choice, check_ranges
from ..models.frame_converter import FrameConverter
from .base import OneModelTask, Stage, StepContext


OUTPUT_SCALES = ("dimension", "stream")


@dataclasses.dataclass(frozen=True)
class DNNConverterConfig:
    context: int = 2  # source frames each side of the converted one
    power_input: bool = False  # the DNN also reads the source's c0 (power), not only c1..c39
    output_scale: str = "dimension"  # targets standardized per dimension, or one scale per stream (statics, Δ, ΔΔ)
    hidden: int = 512
    layers: int = 3
    dropout: float = 0.0  # after each hidden layer, in training
    lr: float = 1e-3
    epochs: int = 10  # per alignment round
    rounds: int = 3  # align, train, convert, realign (sprocket's three rounds)
    band: float = 0.2  # DTW band (Sakoe–Chiba radius as a share of the longer utterance)

    SECTION = "dnn"

    def __post_init__(self):
        check_choice(self, "output_scale", OUTPUT_SCALES)
        check_ranges(self, context=">= 0", hidden=">= 1", layers=">= 0", dropout="0..0.9", lr="> 0", epochs=">= 0", rounds=">= 1",
                     band="0..1")


class DNNConverterTask(OneModelTask):
    name = "dnn_converter"
    metric_names = ("loss",)

    def __init__(self, config: DNNConverterConfig, dim_in: int, dim_out: int, extra: dict | None = None):
        self.config = config
        self.stages = (Stage("dnn", config.epochs),)
        self.model = FrameConverter(dim_in * (2 * config.context + 1), dim_out, config.hidden, config.layers, config.dropout)
        self.extra = {"dim_in": dim_in, "dim_out": dim_out, **(extra or {})}

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean over the batch and the output dimensions of the squared error (normalized units)."""
        return ((self.model(x) - y) ** 2).mean()

    def train_step(self, batch, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        x, y = batch
        loss = self.loss(x, y)
        ctx.step("model", loss)
        return {"loss": loss.detach()}
