"""Enhancement systems over features: what `vawgan synth --system` applies.

  copy    the features unchanged (the vocoder alone)
  vae     encode c1..c39 (z = μ), decode with the decoder as it was after the VAE stage
  vawgan  the same with the decoder after the adversarial stage
  gv-pf   the VAE output, GV post-filtered to the natural GV of the training set
  ms-pf   the VAE output, MS post-filtered toward the natural MS of the training set

c0, F0, V/UV and aperiodicity are copied through. The post-filters' statistics (natural GV and MS,
the VAE output's MS, all over the training utterances) are computed once and cached in
EXP/postfilter_stats.npz.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .choices import SYSTEMS
from .data.frames import denormalize, normalize
from .errors import VawganError
from .features import Features, load_features, speech_mask
from .fileio import atomic_path
from .metrics import global_variance
from .postfilters import corpus_ms_db, gv_postfilter, ms_postfilter

PF_STATS = "postfilter_stats.npz"


class ModelEnhancer:
    """Reconstruct c1..c39 through a trained VAE's z = μ."""

    def __init__(self, exp_dir: str | Path, stage: str, checkpoint: str = "last"):
        from .experiment import checkpoint_path, load_trained

        self.task, self.stats, self.extra = load_trained(exp_dir, stage, checkpoint)
        self.source = checkpoint_path(exp_dir, stage, checkpoint)

    def check(self, feats: Features, path) -> None:
        fs, alpha = int(self.extra["fs"]), float(self.extra["alpha"])
        if feats.fs != fs or abs(feats.alpha - alpha) > 1e-6:
            raise VawganError(path, f"features at fs={feats.fs}, alpha={feats.alpha:.3f}; the model {self.source} was trained at fs={fs}, alpha={alpha:.3f}")

    @torch.no_grad()
    def c(self, c: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(normalize(c, self.stats))
        y = self.task.vae.reconstruct(x).numpy()
        return denormalize(y, self.stats)

    def __call__(self, feats: Features) -> Features:
        self.check(feats, None)
        mc = feats.mcep.copy()
        mc[:, 1:] = self.c(mc[:, 1:])
        return feats.replace(mcep=mc)


def postfilter_stats(exp_dir: str | Path, vae: ModelEnhancer) -> dict[str, np.ndarray]:
    """Natural GV and MS and the VAE output's MS over the training utterances (cached)."""
    exp_dir = Path(exp_dir)
    # One cache per VAE checkpoint: the last one's keeps its old name, the best one's its own.
    cache = exp_dir / (PF_STATS if vae.source.stem == "vae" else f"postfilter_stats_{vae.source.stem}.npz")
    if cache.is_file() and cache.stat().st_mtime >= vae.source.stat().st_mtime:
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    from .experiment import CONFIG, experiment_feats, load_experiment_config

    cfg = load_experiment_config(exp_dir / CONFIG)
    feats_dir, threshold = experiment_feats(exp_dir, cfg), cfg.vawgan.silence_threshold_db
    gvs, nat, gen = [], [], []
    for utt in cfg.data.ids:
        f = load_features(feats_dir / f"{utt}.npz")
        c = f.mcep[:, 1:]
        gvs.append(global_variance(c[speech_mask(f.mcep[:, 0], threshold)]))
        nat.append(c)
        gen.append(vae.c(c))
    stats = {"gv_natural": np.mean(gvs, axis=0), "ms_natural": corpus_ms_db(nat), "ms_vae": corpus_ms_db(gen),
             "threshold_db": np.float64(threshold)}
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **stats)
    return stats


def make_system(name: str, exp_dir: str | Path | None, checkpoint: str = "last") -> Callable[[Features], Features] | None:
    """The transform of system ``name`` (None for copy); ``checkpoint``: each stage's ``last``
    checkpoint or its ``best`` dev epoch."""
    if name not in SYSTEMS:
        raise VawganError(None, f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    if name == "copy":
        return None
    if exp_dir is None:
        raise VawganError(None, f"system {name!r} needs a trained model: give -m EXP")
    enhancer = ModelEnhancer(exp_dir, "adv" if name == "vawgan" else "vae", checkpoint)
    if name in ("vae", "vawgan"):
        return enhancer
    stats = postfilter_stats(exp_dir, enhancer)
    threshold = float(stats["threshold_db"])

    def postfiltered(feats: Features) -> Features:
        out = enhancer(feats)
        mc = out.mcep.copy()
        if name == "gv-pf":
            mc[:, 1:] = gv_postfilter(mc[:, 1:], stats["gv_natural"], speech_mask(mc[:, 0], threshold))
        else:
            mc[:, 1:] = ms_postfilter(mc[:, 1:], stats["ms_natural"], stats["ms_vae"])
        return out.replace(mcep=mc)

    return postfiltered
