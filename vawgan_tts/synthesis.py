"""Features -> waveform through the WORLD vocoder (pysptk ``mc2sp`` + ``pyworld.synthesize``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pysptk

from .audio import write_audio
from .errors import VawganError
from .feature_folder import feature_ids, utterance_path
from .features import Features, decode_aperiodicity, load_features, save_features
from .processes import pool_or_none, results

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pyworld's pkg_resources import
    import pyworld


def synthesize(feats: Features) -> np.ndarray:
    """Waveform (float64, at ``feats.fs``) from mel-cepstrum, F0, V/UV and band aperiodicity."""
    mcep = np.ascontiguousarray(feats.mcep, dtype=np.float64)
    sp = pysptk.mc2sp(mcep, alpha=feats.alpha, fftlen=feats.fft_size)
    ap = decode_aperiodicity(feats.bap, feats.fs, feats.fft_size)
    f0 = np.where(feats.vuv, feats.f0, 0.0).astype(np.float64)
    y = pyworld.synthesize(f0, sp, ap, feats.fs, feats.frame_period)
    return y


def synthesize_folder(feats_dir: str | Path, out_dir: str | Path, ids: Sequence[str] | None,
                      transform: Callable[[Features], Features] | None, result: str, model: str | Path | None = None,
                      overwrite: bool = False, on_progress: Callable[[str], None] | None = None) -> list[str]:
    """What `vawgan synth` and `vawgan convert` do: every utterance of ``ids`` (default: all in
    ``feats_dir``) through ``transform`` into ``out_dir``, which must be new or hold the same ``result``
    (:func:`.outputs.claim_folder`; the model, when given, is one of its inputs). Returns the ids written."""
    from .outputs import claim_folder

    utts = list(ids or feature_ids(feats_dir))
    if not utts:
        raise VawganError(feats_dir, "no .npz features to synthesize")
    claim_folder(out_dir, result, [feats_dir, *([model] if model is not None else [])], overwrite)
    return synthesize_corpus(feats_dir, out_dir, utts, transform, on_progress)


def synthesize_corpus(
    feats_dir: str | Path,
    out_dir: str | Path,
    ids: Sequence[str],
    transform: Callable[[Features], Features] | None = None,
    on_progress: Callable[[str], None] | None = None,
    failures: dict[str, str] | None = None,
) -> list[str]:
    """For each id: load ``feats_dir/<id>.npz``, apply ``transform`` (an enhancement; None copies),
    write ``out_dir/<id>.npz`` and ``out_dir/<id>.wav``. Returns the ids written.

    The first bad utterance (unreadable, or refused by the transform, e.g. at another rate than the
    model's) stops the run with its file named, unless ``failures`` is given: then its reason is
    put there under its id and the others go on."""
    feats_dir, out_dir = Path(feats_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for utt in ids:
        src = utterance_path(feats_dir, utt)
        try:
            feats = load_features(src)
            if transform is not None:
                try:
                    feats = transform(feats)
                except VawganError as e:  # name the file
                    raise VawganError(src, e.reason) from None
        except VawganError as e:
            if failures is None:
                raise
            failures[utt] = str(e)
        else:
            _write(out_dir, utt, feats)
            written.append(utt)
        if on_progress is not None:
            on_progress(utt)
    return written


def _write(out_dir: Path, utt: str, feats: Features) -> None:
    save_features(utterance_path(out_dir, utt), feats)
    write_audio(out_dir / f"{utt}.wav", synthesize(feats), feats.fs)


# What a report runs: several systems from one input folder, each utterance read once and given to
# one function that returns every system's features (so work they share, a conversion, is done once).
SystemsTransform = Callable[[Features], Mapping[str, Features]]

_worker_transform: SystemsTransform | None = None


def synthesize_systems(feats_dir: str | Path, outputs: Mapping[str, str | Path], ids: Sequence[str],
                       make_transform: Callable[[], SystemsTransform], jobs: int = 1,
                       on_progress: Callable[[str], None] | None = None) -> None:
    """For each id: load ``feats_dir/<id>.npz``, get every system's features from one call of the
    transform, write ``outputs[name]/<id>.npz`` and ``.wav`` for each system.

    ``make_transform`` builds the transform (loads its models): once here, which also fills any
    cache the transform keeps (post-filter statistics) before workers start, and with ``jobs`` > 1
    once more in each worker process — so it must pickle (a module-level function or a
    ``functools.partial`` of one): models are loaded where they run, never sent. The first bad
    utterance stops the run with its file named."""
    feats_dir = Path(feats_dir)
    outputs = {name: Path(folder) for name, folder in outputs.items()}
    for folder in outputs.values():
        folder.mkdir(parents=True, exist_ok=True)
    transform = make_transform()
    ids = list(ids)
    with pool_or_none(jobs, len(ids), __name__, _set_worker_transform, (make_transform,)) as pool:
        if pool is None:
            for utt in ids:
                _check_done(_synthesize_one(transform, feats_dir, outputs, utt))
                if on_progress is not None:
                    on_progress(utt)
            return
        futures = {pool.submit(_synthesize_in_worker, feats_dir, outputs, utt): utt for utt in ids}
        for fut, done in results(list(futures), in_order=True):  # in id order: the first failure named is the first id's
            _check_done(done)
            if on_progress is not None:
                on_progress(futures[fut])


def _set_worker_transform(make_transform: Callable[[], SystemsTransform]) -> None:
    global _worker_transform
    _worker_transform = make_transform()


def _synthesize_in_worker(feats_dir: Path, outputs: dict[str, Path], utt: str) -> tuple[str, str] | None:
    return _synthesize_one(_worker_transform, feats_dir, outputs, utt)


def _synthesize_one(transform: SystemsTransform, feats_dir: Path, outputs: dict[str, Path],
                    utt: str) -> tuple[str, str] | None:
    """None when every system's files of ``utt`` are written, else (file, reason) of why not: an
    error crosses the process boundary as text."""
    src = utterance_path(feats_dir, utt)
    try:
        systems = transform(load_features(src))
    except VawganError as e:
        return (e.path or str(src), e.reason)
    for name, folder in outputs.items():
        _write(folder, utt, systems[name])
    return None


def _check_done(failure: tuple[str, str] | None) -> None:
    if failure is not None:
        raise VawganError(*failure)
