"""What a command applies, chosen by the experiment's kind (:mod:`.experiment`): `vawgan convert`'s
converter, `vawgan enhance`'s enhancer and how it analyses WAVs. The options of one kind given to
another are refused here, in one line, before any work.
"""

from __future__ import annotations

from pathlib import Path

from ..choices import ENHANCE_METHODS
from ..config import from_dict, load_toml
from ..errors import VawganError
from ..feature_folder import ExtractConfig, analysis_settings as folder_settings
from ..enhance import output_enhancer
from .converter import Converter
from .experiment import require_kind
from .folder import CONFIG
from .vawgan import experiment_feats, load_experiment_config, load_trained
from .vawgan_postfilter import PairPostfilter
from .vawgan_vc import SpeakerConverter


def open_converter(model: str | Path, to: str | None = None, source: str | None = None, stage: str | None = None,
                   postfilter: str | None = None, adversarial: float | None = None, members: int | None = None,
                   code: str | None = None, knn: int | None = None, checkpoint: str | None = None,
                   knn_context: int | None = None):
    """What `vawgan convert` applies: a parallel converter (with its post-filter, adversarial
    converter, or the first ``members`` networks of its ensemble) or, for a VAWGAN-VC model, the
    conversion to speaker ``to`` (from ``source``, after ``stage`` at its ``checkpoint``, the source's
    codes moved by ``code``, read out by the decoder or by ``knn`` nearest frames of ``to``, matched in
    windows of ``knn_context`` frames either side); options of
    the other kind are refused in one line."""
    kind = require_kind(model, "converter", "vc")
    if kind == "vc":
        if to is None:
            raise VawganError(model, "a VAWGAN-VC model converts to any of its speakers: give --to SPEAKER")
        if postfilter is not None or adversarial is not None or members is not None:
            raise VawganError(model, "--postfilter, --adversarial and --members are for a parallel converter")
        return SpeakerConverter(model, to, source, stage=stage or "adv", which=checkpoint or "last",
                                code=code or "as-is", knn=knn or 0, knn_context=knn_context or 0)
    if any(given is not None for given in (to, source, stage, code, knn, knn_context)):
        raise VawganError(model, "--to, --from, --stage, --code, --knn and --knn-context are for a VAWGAN-VC model "
                                 "(`vawgan train-vc`)")
    if checkpoint is not None:
        raise VawganError(model, "--checkpoint is for a VAWGAN-VC model (a converter's rounds keep their best dev "
                                 "epoch already)")
    if adversarial is not None and members is not None:
        raise VawganError(model, "--members chooses networks of the DNN's ensemble; the adversarial converter is one network")
    return Converter(model, postfilter=postfilter, adversarial=adversarial, members=members)


def open_enhancer(model: str | Path, method: str, checkpoint: str = "last", adv_weight: float | None = None,
                  system_feats: str | Path | None = None, seed: int = 0, inference_z: str | None = None,
                  spread_crop: int | None = None):
    """What `vawgan enhance` applies to another system's output: a pair post-filter's, or an enhancement
    VAWGAN's (:func:`vawgan_tts.enhance.output_enhancer`)."""
    if method not in ENHANCE_METHODS:
        raise VawganError(None, f"method {method!r}: choose from {', '.join(ENHANCE_METHODS)}")
    kind = require_kind(model, "postfilter", "vawgan")
    if kind == "postfilter":
        if system_feats is not None:
            raise VawganError(model, "a pair post-filter has its own system's statistics (its training pairs); "
                                     "--system-feats is for an enhancement VAWGAN trained on natural speech")
        return PairPostfilter(model, method, checkpoint, adv_weight, seed=seed, inference_z=inference_z,
                              spread_crop=spread_crop)
    for given, option in ((inference_z, "--z is for a conv pair post-filter"),
                          (spread_crop, "--spread-crop is for a conv pair post-filter's spread filter"),
                          (adv_weight, "--adv-weight is for a pair post-filter's swept weights")):
        if given is not None:
            raise VawganError(model, f"{option} (`vawgan train-postfilter`); this is an enhancement VAWGAN")
    return output_enhancer(model, method, checkpoint, system_feats)


def analysis_settings(model: str | Path):
    """The WORLD analysis settings a model's input features were extracted with (how `vawgan enhance`
    analyses WAVs): a pair post-filter's ``[extract]``, else the extraction folder's settings file of an
    enhancement VAWGAN (its sampling rate alone when that file is gone)."""
    model = Path(model)
    if require_kind(model, "postfilter", "vawgan") == "postfilter":
        return from_dict(ExtractConfig, load_toml(model / CONFIG).get("extract", {}), model / CONFIG)
    settings = folder_settings(experiment_feats(model, load_experiment_config(model / CONFIG)))
    return settings if settings is not None else ExtractConfig(fs=load_trained(model, "vae").settings.fs)

