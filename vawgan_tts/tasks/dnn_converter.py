"""Parallel voice conversion with a DNN: source frames with context in, target statics + Δ + ΔΔ out.

Loss: mean squared error over the normalized output dimensions (each target feature standardized
by its training mean and standard deviation). The trajectory is made from the predicted means by
MLPG (:mod:`vawgan_tts.mlpg`) with the variances of the training residuals.

``arch = "frame"``: an MLP over a window of 2·context + 1 source frames (:class:`..models.frame_converter.FrameConverter`),
batches of frames. ``arch = "conv"``: a sequence converter, convolutions over the whole source trajectory
(:class:`..models.conv_converter.ConvConverter`), batches of random crops with a mask of the frames that
have a target (DTW pairs speech frames only); the loss is the same mean over the masked frames. With
``mask_crop_edges`` the frames within half a receptive field of a crop's edge are left out too, unless
that edge is the utterance's own: they would see the crop's padding, which conversion of the whole
utterance never shows them (:func:`..batching.crop_interior`).

``loss = "trajectory"`` (conv arch; minimum generation error, Xie et al. 2014): the network still
predicts statics, Δ and ΔΔ, but the loss is the squared error of the static trajectory that MLPG
makes from them (:class:`TrajectoryError`, through :func:`..mlpg.mlpg_operator`), in normalized
static units, over the masked frames. What the frames loss leaves to MLPG after training — making
the three streams agree — the network learns to do for MLPG. The variances MLPG weighs the streams
by must then be the same in training and at conversion: the training targets' own (per dimension),
fixed before training, where the frames loss uses its residuals' after.

``members = K``: the last round trains K networks on its alignment, each from its own seed, and
conversion averages their predicted means before MLPG (an ensemble; the earlier rounds, which only
align, train one). Averaging removes the part of each network's error that depends on its
initialization and crops, which the best-dev-epoch selection of one network cannot.

``align_epochs = N``: the rounds before the last train N epochs instead of ``epochs``. Their
network only makes the next round's alignment, and each keeps its best dev epoch; fewer epochs
there is what pays for the last round's ensemble in training time.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..batching import crop_interior
from ..choices import ARCHS
from ..config import check_arch_options, check_choice, check_conv_layers, check_ranges
from ..models.conv_converter import ConvConverter
from ..models.frame_converter import FrameConverter
from ..mlpg import WINDOWS, mlpg_operator
from .base import OneModelTask, Stage, StepContext, masked_frame_mean


OUTPUT_SCALES = ("dimension", "stream")
LOSSES = ("frames", "trajectory")  # each stream's frames | the static trajectory MLPG makes (conv arch)


@dataclasses.dataclass(frozen=True)
class DNNConverterConfig:
    context: int = 2  # source frames each side of the converted one
    power_input: bool = False  # the DNN also reads the source's c0 (power), not only c1..c39
    output_scale: str = "dimension"  # targets standardized per dimension, or one scale per stream (statics, Δ, ΔΔ)
    hidden: int = 512
    layers: int = 3
    dropout: float = 0.0  # after each hidden layer (both archs), in training
    lr: float = 1e-3
    epochs: int = 10  # per alignment round
    align_epochs: int | None = None  # epochs of each round before the last (they only align); unset: epochs
    rounds: int = 3  # align, train, convert, realign (sprocket's three rounds)
    band: float = 0.2  # DTW band (Sakoe–Chiba radius as a share of the longer utterance)
    arch: str = "frame"  # frame: an MLP over 2·context + 1 frames | conv: convolutions over the whole trajectory
    channels: tuple[int, ...] = (256, 256, 256, 256)  # conv arch: width of each hidden convolution
    kernel: int = 5  # conv arch: frames each convolution reads (odd)
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # conv arch: dilation of each hidden convolution
    segment: int = 128  # conv arch: frames per training crop (640 ms at 5 ms)
    segments_per_batch: int = 16  # conv arch: crops per batch ([train] batch_size counts frames of the frame arch)
    mask_crop_edges: bool = False  # conv arch: no loss on a crop's frames that would see the crop's padding (worse on dev)
    loss: str = "frames"  # frames: squared error of statics, Δ, ΔΔ | trajectory: of the statics MLPG makes (conv arch)
    members: int = 1  # networks of the last round (seeds apart), their predicted means averaged before MLPG

    SECTION = "dnn"
    FRAME_ONLY = ("context", "hidden", "layers")  # options the other arch has no use for: set, they are refused
    CONV_ONLY = ("channels", "kernel", "dilations", "segment", "segments_per_batch", "mask_crop_edges", "loss")

    def __post_init__(self):
        check_choice(self, "output_scale", OUTPUT_SCALES)
        check_choice(self, "arch", ARCHS)
        check_choice(self, "loss", LOSSES)
        check_arch_options(self)
        check_ranges(self, context=">= 0", hidden=">= 1", layers=">= 0", dropout="0..0.9", lr="> 0", epochs=">= 0", align_epochs=">= 1", rounds=">= 1",
                     band="0..1", members=">= 1", channels=">= 1", kernel=">= 1", dilations=">= 1", segment=">= 8", segments_per_batch=">= 1")
        check_conv_layers(self)


class TrajectoryError:
    """The trajectory loss: MLPG of a crop's predicted means, its statics against the targets'.

    ``n_frames``: the crops' length (the operator is built for it). ``y_mean``, ``y_std``: (3D,) the
    output normalization; ``variances``: (3D,) what MLPG weighs the streams by, in the targets' own
    units. Called on normalized predictions and targets (B, T, 3D) and the mask (B, T): the mean
    over masked frames and the D statics of the squared error, in normalized static units (the
    frames loss's units for its statics)."""

    def __init__(self, n_frames: int, y_mean: np.ndarray, y_std: np.ndarray, variances: np.ndarray):
        self.n_frames = n_frames
        self.dim = len(y_mean) // len(WINDOWS)
        self.operator = torch.from_numpy(mlpg_operator(n_frames, variances).astype(np.float32))  # (D, T, 3T)
        self.y_mean = torch.from_numpy(np.asarray(y_mean, np.float32))
        self.y_std = torch.from_numpy(np.asarray(y_std, np.float32))

    def statics(self, pred: torch.Tensor) -> torch.Tensor:
        """(B, T, 3D) normalized means -> (B, T, D) MLPG's static trajectory, normalized as the targets' statics."""
        b, t, _ = pred.shape
        if t != self.n_frames:
            raise ValueError(f"the trajectory loss was built for crops of {self.n_frames} frames, not {t}")
        if self.operator.device != pred.device:  # moved once, with the model
            self.operator, self.y_mean, self.y_std = (a.to(pred.device) for a in (self.operator, self.y_mean, self.y_std))
        means = pred * self.y_std + self.y_mean
        stacked = means.reshape(b, t, len(WINDOWS), self.dim).permute(0, 3, 2, 1).reshape(b, self.dim, -1)  # (B, D, 3T)
        c = torch.einsum("dts,bds->btd", self.operator, stacked)
        return (c - self.y_mean[: self.dim]) / self.y_std[: self.dim]

    def __call__(self, pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_frame_mean(((self.statics(pred) - y[..., : self.dim]) ** 2).mean(-1), mask)


class DNNConverterTask(OneModelTask):
    name = "dnn_converter"
    metric_names = ("loss",)

    def __init__(self, config: DNNConverterConfig, dim_in: int, dim_out: int, extra: dict | None = None,
                 trajectory: TrajectoryError | None = None):
        """``trajectory``: the loss of ``loss = "trajectory"`` (it needs the output normalization, so
        the training run builds it); a task made only to convert does without."""
        self.config = config
        self.stages = (Stage("dnn", config.epochs),)  # a round before the last gets a config with align_epochs as epochs
        self.model = converter_model(config, dim_in, dim_out)
        self.extra = {"dim_in": dim_in, "dim_out": dim_out, **(extra or {})}
        self.trajectory = trajectory

    def loss(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Frames loss: the mean over the batch and the output dimensions of the squared error
        (normalized units). Frame arch: x (B, (2k+1)·D_in), y (B, D_out). Conv arch: x (B, T, D_in),
        y (B, T, D_out) and ``mask`` (B, T), 1 where a frame has a target: the mean over those frames.
        Trajectory loss (conv arch): :class:`TrajectoryError` of the crops."""
        pred = self.model(x)
        if self.config.loss == "trajectory":
            if self.trajectory is None:
                raise RuntimeError("loss = 'trajectory' needs the TrajectoryError the training run builds")
            return self.trajectory(pred, y, mask)
        err = (pred - y) ** 2
        if mask is None:
            return err.mean()
        return masked_frame_mean(err.mean(-1), mask)

    def train_step(self, batch, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        if len(batch) == 4:  # conv crops with their frames' positions: the loss only where the crop is the utterance
            x, y, mask, positions = batch
            batch = (x, y, mask * crop_interior(positions, self.model.receptive_field // 2))
        loss = self.loss(*batch)
        ctx.step("model", loss)
        return {"loss": loss.detach()}


def converter_model(config: DNNConverterConfig, dim_in: int, dim_out: int) -> torch.nn.Module:
    """The network of ``config.arch`` for ``dim_in`` source coefficients per frame."""
    if config.arch == "conv":
        return ConvConverter(dim_in, dim_out, config.channels, config.kernel, config.dilations, config.dropout)
    return FrameConverter(dim_in * (2 * config.context + 1), dim_out, config.hidden, config.layers, config.dropout)
