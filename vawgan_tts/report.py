"""The listening and reading report: every system on the eval list, metrics with confidence
intervals, figures, audio — a folder that can be shared as it is.

REPORT/                          only what the page uses
  index.html                     summary table (95 % intervals, p against a reference), players,
                                 figures, the sortable per-utterance table, provenance
  metrics.json, per_utterance.csv  from vawgan_tts.evaluation (+ "provenance")
  gv.png, ms.png, scatter.png    corpus figures; curves.png, critic.png the experiment's training curves
  utterances/<n>.png             envelope and F0 of each played utterance, natural and every system
  audio/<column>/<utt>.wav       the played WAVs and nothing else
SYSTEMS/ (default EXP/systems/)  every system's features and WAVs of the eval list: the working
                                 files, not part of the report

The report folder follows outputs.py's rule: new, or holding a report of the same experiment, layout,
direction, checkpoint and inputs (then refreshed), or refused in one line unless ``overwrite``; an
input (the experiment, a feature folder, an --extra folder) is never the report folder. The report is
written in a hidden folder inside it and replaces the earlier one only when whole: a report that
fails or is interrupted leaves the earlier one as it was.

Played utterances default to a spread over the per-utterance MCD (best, median, worst, averaged
over the systems); ``show`` names them instead. Every path in the page is URL-encoded, so an id with
``#``, ``%`` or a space plays.
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import quote

import numpy as np

from . import extract
from . import feature_folder
from .choices import CHECKPOINTS, CODE_MOVES, SYSTEMS
from .enhance import enhancement_systems
from .errors import VawganError
from .feature_folder import ExtractConfig, has_utterance, load_utterance
from .evaluation import CORPUS_FIGURES, FIGURES, METRICS_JSON, PER_UTTERANCE_CSV, evaluate
from .features import envelope_db
from .fileio import write_text_atomic
from .outputs import claim_folder, staged
from .plots import NATURAL, plot_utterance
from .processes import pool_or_none
from .provenance import provenance
from .synthesis import synthesize_systems

REPORT_SYSTEMS = SYSTEMS
N_SHOW = 3
TRAINING_FIGURES = ("curves.png", "critic.png")  # the experiment's own, copied when it has them
# What a report consists of, in the order it is published (outputs.staged): the page last.
REPORT_FILES = (METRICS_JSON, PER_UTTERANCE_CSV, *CORPUS_FIGURES, *TRAINING_FIGURES, "audio", "utterances",
                "index.html")
SYSTEM_NOTES = {
    "copy": "WORLD analysis–synthesis, analysed again: the vocoder's own loss, the floor for every system",
    "vae": "VAE reconstruction (z = μ) after the VAE stage: accurate, over-smoothed",
    "vawgan": "the same VAE after adversarial training of its decoder",
    "gv-pf": "VAE output with the global-variance post-filter",
    "ms-pf": "VAE output with the modulation-spectrum post-filter",
}
CONVERSION_SYSTEMS = ("source", "converted", "converted+gv-pf", "converted+ms-pf")
CONVERSION_NOTES = {
    "source": "the source speaker (the synthesizer's voice), unconverted: where conversion starts",
    "converted": "the DNN converter's output (MLPG trajectory, log-F0 transform)",
    "converted+gv-pf": "the converter's output, GV post-filtered to the target's natural GV (training prompts)",
    "converted+ms-pf": "the converter's output, MS post-filtered from its own MS to the target's (training prompts)",
}
# (key in metrics.json, heading, scale, digits) of the summary and per-utterance tables.
COLUMNS = tuple((f.key, f.heading, f.scale, f.digits) for f in FIGURES)
LOWER_IS_BETTER = {f.key for f in FIGURES if f.better == "lower"}


def _check_systems(chosen: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    if chosen is None:
        return list(known)
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise VawganError(None, f"--systems: {', '.join(unknown)} not known here; choose from {', '.join(known)}")
    if not chosen:
        raise VawganError(None, "--systems: give at least one system")
    return list(dict.fromkeys(chosen))


def build_report(exp_dir: str | Path, out_dir: str | Path, ids: Sequence[str], feats_dir: str | Path | None = None,
                 systems: Sequence[str] | None = None, n_show: int = N_SHOW, show: Sequence[str] | None = None,
                 reference: str | None = "vae", systems_dir: str | Path | None = None, jobs: int = 1,
                 n_resamples: int | None = None, on_progress: Progress | None = None,
                 checkpoint: str = "last", overwrite: bool = False) -> dict:
    """The enhancement layout: natural recordings and each system's output on the same utterances.
    ``jobs``: processes for the systems' synthesis, the copy's re-analysis, the evaluation and the figures;
    ``checkpoint``: each stage's ``last`` or its ``best`` dev epoch (the default working folder:
    EXP/systems-best for the latter, so that the two do not mix); ``overwrite``: replace another
    report in ``out_dir`` (module docstring)."""
    from .runs.folder import CONFIG
    from .runs.vawgan import experiment_feats, load_experiment_config

    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    systems = _check_systems(systems, REPORT_SYSTEMS)
    if feats_dir is None:
        feats_dir = experiment_feats(exp_dir, load_experiment_config(exp_dir / CONFIG))
    feats_dir = Path(feats_dir)
    sys_root = Path(systems_dir) if systems_dir is not None else exp_dir / _systems_folder(checkpoint)
    reference = _reference(reference, "vae", systems)
    _claim_report(out_dir, f"report --checkpoint {checkpoint}", [exp_dir, feats_dir], overwrite, ids, show)
    eval_dirs = {name: sys_root / name for name in systems}
    steps = _Steps(on_progress, len(ids) + 2 + ("copy" in systems))
    synthesize_systems(feats_dir, eval_dirs, ids,
                       functools.partial(enhancement_systems, exp_dir, tuple(systems), checkpoint),
                       jobs=jobs, on_progress=lambda _: steps("systems"))
    wav_dirs = dict(eval_dirs)
    if "copy" in systems:
        cfg = feature_folder.analysis_settings(feats_dir) or ExtractConfig()
        reanalysed = sys_root / "copy-reanalysed"
        extract.run([sys_root / "copy" / f"{u}.wav" for u in ids], reanalysed, cfg, jobs=jobs, overwrite=True)
        eval_dirs["copy"] = reanalysed
        steps("re-analysis")
    columns = [("natural", NATURAL, feature_folder.sources(feats_dir))]
    columns += [(name, name, {u: wav_dirs[name] / f"{u}.wav" for u in ids}) for name in systems]
    return write_report(exp_dir, out_dir, ids, feats_dir, eval_dirs, columns, align="auto", n_show=n_show, show=show,
                  reference=reference, floor="copy", notes=SYSTEM_NOTES,
                  n_resamples=n_resamples, steps=steps, config=exp_dir / CONFIG, jobs=jobs)


def build_conversion_report(exp_dir: str | Path, out_dir: str | Path, ids: Sequence[str], n_show: int = N_SHOW,
                            show: Sequence[str] | None = None, systems: Sequence[str] | None = None,
                            reference: str | None = "converted", systems_dir: str | Path | None = None,
                            extra: dict[str, Path] | None = None, n_resamples: int | None = None, jobs: int = 1,
                            on_progress: Progress | None = None, overwrite: bool = False) -> dict:
    """The parallel layout: the source voice, its conversion and the target speaker's natural
    recording of each prompt, side by side; metrics with DTW alignment to the natural recording.
    ``extra``: name → folder of further systems' ``<id>.npz`` and ``<id>.wav`` (e.g. the converter's
    output enhanced by `vawgan enhance`), evaluated and played beside the others. ``jobs``: processes
    for conversion and synthesis (each prompt converted once for all the converter's systems), the
    evaluation and the figures. ``overwrite``: replace another report in ``out_dir`` (module docstring)."""
    from .runs.converter import CONFIG, Converter, conversion_systems

    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    extra = _extra_systems(extra, CONVERSION_SYSTEMS, ids)
    systems = _check_systems(systems, [*CONVERSION_SYSTEMS, *extra])
    converter = Converter(exp_dir)
    source, target = Path(converter.config.data.source), Path(converter.config.data.target)
    for folder in (source, target):
        if not folder.is_dir():
            raise VawganError(exp_dir / CONFIG, f"the feature folder it names does not exist ({folder})")
    trained = set(converter.config.data.ids)
    if trained & set(ids):
        raise VawganError(None, f"{len(trained & set(ids))} report prompt(s) were used in training, e.g. "
                                f"{sorted(trained & set(ids))[0]}: report on held-out prompts")
    sys_root = Path(systems_dir) if systems_dir is not None else exp_dir / "systems"
    reference = _reference(reference, "converted", systems)
    _claim_report(out_dir, "report", [exp_dir, source, target, *extra.values()], overwrite, ids, show)
    postfilters = {"converted": None, "converted+gv-pf": "gv", "converted+ms-pf": "ms"}
    run = {name: pf for name, pf in postfilters.items() if name in systems}
    steps = _Steps(on_progress, len(ids) * bool(run) + 2)
    if run:
        synthesize_systems(source, {name: sys_root / name for name in run}, ids,
                           functools.partial(conversion_systems, exp_dir, run), jobs=jobs,
                           on_progress=lambda _: steps("conversion"))
    eval_dirs, wavs = {}, {}
    for name in systems:
        folder = source if name == "source" else extra.get(name, sys_root / name)
        eval_dirs[name] = folder
        wavs[name] = feature_folder.sources(source) if name == "source" else {u: folder / f"{u}.wav" for u in ids}
    headings = {"source": "source voice", "converted+gv-pf": "+ GV post-filter", "converted+ms-pf": "+ MS post-filter"}
    columns = [(headings.get(n, n), n, wavs[n]) for n in systems] + [("natural target", NATURAL, feature_folder.sources(target))]
    notes = {**CONVERSION_NOTES, **{name: f"given with --extra ({folder})" for name, folder in extra.items()}}
    return write_report(exp_dir, out_dir, ids, target, eval_dirs, columns, align="dtw", n_show=n_show, show=show,
                  reference=reference, floor="source", notes=notes,
                  n_resamples=n_resamples, steps=steps, config=exp_dir / CONFIG, jobs=jobs)


VC_NOTES = {
    "source": "the source speaker, unconverted: where conversion starts",
    "vae-vc": "VAE-VC: the VAWGAN-VC model after its VAE stage (z = μ, decoder with the target's embedding)",
    "vawgan-vc": "VAWGAN-VC: the same after adversarial training of its decoder against the speaker critic",
}


def build_vc_report(exp_dir: str | Path, out_dir: str | Path, ids: Sequence[str], source: str, target: str,
                    n_show: int = N_SHOW, show: Sequence[str] | None = None, systems: Sequence[str] | None = None,
                    reference: str | None = "vae-vc", systems_dir: str | Path | None = None,
                    extra: dict[str, Path] | None = None, n_resamples: int | None = None, jobs: int = 1,
                    on_progress: Progress | None = None, checkpoint: str = "last", code: str = "as-is",
                    knn: int = 0, knn_context: int = 0, overwrite: bool = False) -> dict:
    """One direction of a VAWGAN-VC model (`vawgan train-vc`): the source speaker's held-out prompts,
    converted by VAE-VC and VAWGAN-VC (and ``extra`` systems, e.g. the parallel DNN), against the
    target speaker's own recordings of them, aligned by DTW; each stage's ``last`` checkpoint or its
    ``best`` dev epoch (the default working folder: EXP/systems-best for the latter); ``code``: the
    source's codes as they are or moved to the target's, and ``knn``: the readout, the decoder (0) or the
    mean of the ``knn`` nearest of the target's frames, matched in windows of ``knn_context`` frames either
    side (:mod:`.runs.vawgan_vc`; working folder EXP/systems[-best][-<code>][-knn<k>[-ctx<c>]]).
    ``overwrite``: replace another report in ``out_dir`` (module docstring)."""
    from .runs.folder import CONFIG
    from .runs.vawgan_vc import SHARES, check_knn_context, speaker_folders, vc_systems

    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    feats = speaker_folders(exp_dir)
    for who in (source, target):
        if who not in feats:
            raise VawganError(None, f"unknown speaker {who!r}; this model knows {', '.join(feats)}")
    if source == target:
        raise VawganError(None, f"--from and --to are both {source!r}: nothing to convert")
    shares = json.loads((exp_dir / SHARES).read_text())["train"]
    seen = set(shares.get(source, [])) | set(shares.get(target, []))
    if seen & set(ids):
        raise VawganError(None, f"{len(seen & set(ids))} report prompt(s) were trained on as {source} or {target}, "
                                f"e.g. {sorted(seen & set(ids))[0]}: report on held-out prompts")
    extra = _extra_systems(extra, VC_NOTES, ids)
    systems = _check_systems(systems, [*VC_NOTES, *extra])
    check_knn_context(knn, knn_context)
    sys_root = (Path(systems_dir) if systems_dir is not None
                else exp_dir / _systems_folder(checkpoint, code, knn, knn_context))
    sys_root = sys_root / f"{source}-to-{target}"
    reference = _reference(reference, "vae-vc", systems)
    _claim_report(out_dir, f"report --from {source} --to {target} --checkpoint {checkpoint} --code {code} "
                           f"--knn {knn}" + (f" --knn-context {knn_context}" if knn_context else ""),
                  [exp_dir, feats[source], feats[target], *extra.values()], overwrite, ids, show)
    run = {name: "vae" if name == "vae-vc" else "adv" for name in ("vae-vc", "vawgan-vc") if name in systems}
    steps = _Steps(on_progress, len(ids) * bool(run) + 2)
    if run:
        synthesize_systems(feats[source], {name: sys_root / name for name in run}, ids,
                           functools.partial(vc_systems, exp_dir, source, target, run, checkpoint, code, knn,
                                             knn_context),
                           jobs=jobs, on_progress=lambda _: steps("conversion"))
    eval_dirs, wavs = {}, {}
    for name in systems:
        folder = Path(feats[source]) if name == "source" else extra.get(name, sys_root / name)
        eval_dirs[name] = folder
        wavs[name] = feature_folder.sources(folder) if name == "source" else {u: folder / f"{u}.wav" for u in ids}
    columns = [(f"{source} (source)" if n == "source" else n, n, wavs[n]) for n in systems]
    columns.append((f"{target} (target)", NATURAL, feature_folder.sources(feats[target])))
    notes = {**VC_NOTES, **{name: f"given with --extra ({folder})" for name, folder in extra.items()}}
    return write_report(exp_dir, out_dir, ids, Path(feats[target]), eval_dirs, columns, align="dtw", n_show=n_show,
                        show=show, reference=reference, floor="source", notes=notes,
                        n_resamples=n_resamples, steps=steps, config=exp_dir / CONFIG, jobs=jobs)


def build_experiment_report(exp_dir: str | Path, out_dir: str | Path, ids: Sequence[str], feats_dir: str | Path | None = None,
                            source: str | None = None, target: str | None = None, extra: dict[str, Path] | None = None,
                            **options) -> dict:
    """`vawgan report`: the layout of the experiment's kind (:mod:`.runs.experiment`) — an enhancement
    VAWGAN's (:func:`build_report`, natural features ``feats_dir``), a converter's
    (:func:`build_conversion_report`), or one direction ``source`` → ``target`` of a VAWGAN-VC model
    (:func:`build_vc_report`); ``options`` as those take them. An option of another kind is one line."""
    from .runs.experiment import require_kind

    kind = require_kind(exp_dir, "vawgan", "converter", "vc")
    if (source is not None or target is not None) and kind != "vc":
        raise VawganError(exp_dir, "--from and --to are for a VAWGAN-VC model (`vawgan train-vc`)")
    if extra and kind == "vawgan":
        raise VawganError(exp_dir, "--extra is for a converter's report (the parallel layout)")
    if feats_dir is not None and kind != "vawgan":
        raise VawganError(exp_dir, "--feats is for an enhancement VAWGAN's report; a converter's natural side is its target")
    code, knn, knn_context = options.pop("code", "as-is"), options.pop("knn", 0), options.pop("knn_context", 0)
    if kind != "vc" and (code != "as-is" or knn or knn_context):
        raise VawganError(exp_dir, "--code, --knn and --knn-context are for a VAWGAN-VC model's conversion "
                                   "(`vawgan train-vc`)")
    if kind == "converter" and options.pop("checkpoint", "last") != "last":
        raise VawganError(exp_dir, "--checkpoint is for a VAWGAN or VAWGAN-VC model's report (a converter's rounds "
                                   "keep their best dev epoch already)")
    if kind == "vc":
        if source is None or target is None:
            raise VawganError(exp_dir, "a VAWGAN-VC model: give the direction with --from SPEAKER --to SPEAKER")
        return build_vc_report(exp_dir, out_dir, ids, source, target, extra=extra, code=code, knn=knn,
                               knn_context=knn_context, **options)
    if kind == "converter":
        return build_conversion_report(exp_dir, out_dir, ids, extra=extra, **options)
    return build_report(exp_dir, out_dir, ids, feats_dir, **options)


def _claim_report(out_dir: Path, result: str, inputs: Sequence[str | Path], overwrite: bool, ids: Sequence[str],
                  show: Sequence[str] | None) -> None:
    """Before any work: every ``--show`` utterance is a report prompt, and ``out_dir`` may take this
    report (:func:`.outputs.claim_folder`: new, the same report, or ``overwrite``)."""
    unknown = [u for u in show or () if u not in set(ids)]
    if unknown:
        raise VawganError(None, f"--show {unknown[0]!r}: not among the --ids prompts")
    claim_folder(out_dir, result, inputs, overwrite, written=REPORT_FILES)


def _systems_folder(checkpoint: str, code: str = "as-is", knn: int = 0, knn_context: int = 0) -> str:
    """The default folder, in the experiment, of a report's working files (every system's features and
    WAVs) for each stage's ``checkpoint`` and a VC model's ``code``, ``knn`` and ``knn_context``: systems,
    systems-best, systems-shift, systems-best-shift-knn16, systems-best-shift-knn16-ctx1, …"""
    if checkpoint not in CHECKPOINTS:
        raise VawganError(None, f"--checkpoint {checkpoint!r}: choose from {', '.join(CHECKPOINTS)}")
    if code not in CODE_MOVES:
        raise VawganError(None, f"--code {code!r}: choose from {', '.join(CODE_MOVES)}")
    return "-".join(["systems", *([checkpoint] if checkpoint != "last" else []), *([code] if code != "as-is" else []),
                     *([f"knn{knn}"] if knn else []), *([f"ctx{knn_context}"] if knn_context else [])])


def _extra_systems(extra: dict[str, Path] | None, own: Sequence[str], ids: Sequence[str]) -> dict[str, Path]:
    """``--extra`` NAME=DIR systems of a report, checked before anything is converted: a name that
    is not one of the report's own systems, and features of every report prompt."""
    extra = {name: Path(folder) for name, folder in (extra or {}).items()}
    for name, folder in extra.items():
        if name in own or name == NATURAL:
            raise VawganError(None, f"--extra {name!r}: that name is taken by one of the report's own systems")
        missing = [u for u in ids if not has_utterance(folder, u)]
        if missing:
            raise VawganError(folder, f"system {name!r} has no features for {len(missing)} report prompt(s), "
                                      f"e.g. {missing[0]}")
    return extra


def _reference(reference: str | None, default: str, systems: Sequence[str]) -> str | None:
    """The system others are tested against: the layout's default when it is shown, else none; a
    named one must be shown."""
    if reference is None or reference in systems:
        return reference
    if reference == default:
        return None
    raise VawganError(None, f"--reference {reference!r} is not among the report's systems ({', '.join(systems)})")


def spread(scores: dict[str, float], n: int) -> list[str]:
    """``n`` utterances spread evenly over the sorted scores, lowest first: for n = 3 the best, the
    median and the worst (lower is better). Ties keep id order."""
    ranked = sorted(scores, key=lambda u: (scores[u], u))
    if n >= len(ranked):
        return ranked
    if n <= 0:
        return []
    if n == 1:
        return [ranked[(len(ranked) - 1) // 2]]
    picks = np.round(np.linspace(0, len(ranked) - 1, n)).astype(int)
    return [ranked[i] for i in dict.fromkeys(picks)]


def _slug(name: str) -> str:
    """A folder name for a column: the system's name with path separators and control characters replaced."""
    return re.sub(r"[/\\\x00-\x1f]", "_", name).strip(".") or "_"


def url(*parts: str) -> str:
    """A relative URL from path parts, each percent-encoded (``#``, ``%``, ``?``, spaces, non-ASCII)."""
    return "/".join(quote(p, safe="") for p in parts)


def write_report(exp_dir: Path, out_dir: Path, ids: Sequence[str], natural_dir: Path, eval_dirs: dict[str, Path],
                 columns: list[tuple[str, str, dict[str, Path]]], *, align: str = "auto", n_show: int = N_SHOW,
                 show: Sequence[str] | None = None, reference: str | None = None, floor: str | None = None,
                 notes: dict[str, str] | None = None, n_resamples: int | None = None,
                 steps: "_Steps | None" = None, config: Path | None = None, jobs: int = 1) -> dict:
    """Evaluate ``eval_dirs`` (name → feature folder) against ``natural_dir`` (in ``jobs`` processes),
    then write the shareable folder: metrics, figures, the played WAVs (``columns``: heading, folder
    key, id → WAV), the page. Everything is written into a staged folder that replaces the earlier
    report in ``out_dir`` only when whole (:func:`.outputs.staged`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with staged(out_dir, REPORT_FILES) as stage:
        kwargs = {"n_resamples": n_resamples} if n_resamples else {}
        result = evaluate(natural_dir, eval_dirs, stage, ids=ids, align=align, reference=reference,
                          annotations={"provenance": provenance(config)}, jobs=jobs, **kwargs)
        if steps:
            steps("evaluation")
        evaluated = sorted({r["utterance"] for r in result["per_utterance"]})
        if show is not None:
            missing = [u for u in show if u not in evaluated]
            if missing:
                raise VawganError(None, f"--show {missing[0]!r}: not among the {len(evaluated)} evaluated utterances")
            listen, labels = list(dict.fromkeys(show)), {}
        else:
            ranked = [n for n in eval_dirs if n != floor] or list(eval_dirs)
            mcd = {u: np.nanmean([r["mcd_db"] for r in result["per_utterance"]
                                  if r["utterance"] == u and r["system"] in ranked]) for u in evaluated}
            listen = spread(mcd, n_show)
            order = sorted(mcd, key=lambda u: (mcd[u], u))
            labels = {u: f"rank {order.index(u) + 1} of {len(order)} by MCD, {mcd[u]:.2f} dB" for u in listen}
        # Only the played WAVs go into the report (the stage is new: nothing of an earlier report stays).
        page_columns = []
        for heading, key, wavs in columns:
            column = _slug(key)
            for utt in listen:
                if utt not in wavs or not Path(wavs[utt]).is_file():
                    raise VawganError(Path(wavs.get(utt, eval_dirs.get(key, natural_dir))),
                                      f"no WAV of {utt!r} to play")
                dst = stage / "audio" / column / f"{utt}.wav"
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(wavs[utt], dst)
            page_columns.append((heading, ("audio", column)))
        figures = {utt: ("utterances", f"{k + 1}.png") for k, utt in enumerate(listen)}
        (stage / "utterances").mkdir(parents=True, exist_ok=True)
        draw = [(_plot_utterance, (natural_dir, eval_dirs, utt, stage.joinpath(*figures[utt]))) for utt in listen]
        with pool_or_none(jobs, len(draw), __name__) as pool:
            if pool is None:
                for fn, args in draw:
                    fn(*args)
            else:
                for done in [pool.submit(fn, *args) for fn, args in draw]:
                    done.result()
        for png in TRAINING_FIGURES:
            if (exp_dir / png).is_file():
                shutil.copy(exp_dir / png, stage / png)
        page = render_html(result, list(eval_dirs), listen, exp_dir, page_columns, notes=notes or {}, floor=floor,
                           labels=labels, figures=figures, has_curves=(stage / "curves.png").is_file())
        write_text_atomic(stage / "index.html", page)
        if steps:
            steps("page")
        return result


Progress = Callable[[str, int, int], None]  # (step, done, total): the report's progress, for a bar


class _Steps:
    """Counts a report's units of work (one per utterance synthesized, one per later step) for ``on_progress``."""

    def __init__(self, on_progress: Progress | None, total: int):
        self.on_progress, self.total, self.done = on_progress, total, 0

    def __call__(self, step: str) -> None:
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(step, self.done, self.total)


def _plot_utterance(natural_dir: Path, eval_dirs: dict[str, Path], utt: str, path: Path) -> None:
    """The envelope and F0 figure of one played utterance, natural and every system."""
    feats = {NATURAL: load_utterance(natural_dir, utt)}
    feats |= {name: load_utterance(Path(folder), utt) for name, folder in eval_dirs.items()}
    nat = feats[NATURAL]
    plot_utterance({n: envelope_db(f) for n, f in feats.items()}, {n: np.where(f.vuv, f.f0, 0.0) for n, f in feats.items()},
                   nat.fs, nat.frame_period, path, title=utt)


def _cell(m: dict, key: str, scale: float, digits: int, best: bool) -> str:
    if key not in m:
        return "<td>–</td>"
    v = m[key] * scale
    lo, hi = m.get("ci95", {}).get(key, (float("nan"), float("nan")))
    ci = f"<br><small>[{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]</small>" if lo == lo and hi == hi else ""
    p = m.get("p_vs_reference", {}).get(key)
    pv = f"<br><small class=p>p = {p:.2g}</small>" if p is not None and p == p else ""
    return f"<td{' class=best' if best else ''} data-v='{v:.6g}'>{v:.{digits}f}{ci}{pv}</td>"


SORT_JS = """
for (const table of document.querySelectorAll('table.sortable')) {
  const heads = table.tHead.rows[0].cells;
  for (let col = 0; col < heads.length; col++) {
    heads[col].addEventListener('click', () => {
      const body = table.tBodies[0], rows = Array.from(body.rows);
      const dir = heads[col].dataset.dir === 'asc' ? -1 : 1;
      for (const h of heads) delete h.dataset.dir;
      heads[col].dataset.dir = dir === 1 ? 'asc' : 'desc';
      const key = r => r.cells[col].dataset.v ?? r.cells[col].textContent;
      rows.sort((a, b) => {
        const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
        if (isNaN(nx) || isNaN(ny)) return dir * x.localeCompare(y);
        return dir * (nx - ny);
      });
      for (const r of rows) body.appendChild(r);
    });
  }
}
const filter = document.getElementById('system-filter');
if (filter) filter.addEventListener('change', () => {
  for (const r of document.querySelectorAll('#per-utterance tbody tr'))
    r.hidden = filter.value !== '' && r.dataset.system !== filter.value;
});
"""


def render_html(result: dict, systems: Sequence[str], listen: Sequence[str], exp_dir: Path,
                columns: Sequence[tuple[str, tuple[str, ...]]], notes: dict[str, str] = SYSTEM_NOTES,
                floor: str | None = "copy", labels: dict[str, str] | None = None,
                figures: dict[str, tuple[str, ...]] | None = None, has_curves: bool = False) -> str:
    """The page. ``columns``: (heading, path parts of the folder of ``<utt>.wav`` relative to the page)
    of each audio column; ``floor``: a system shown but not ranked (the vocoder's floor, the unconverted
    source); ``figures``: utterance → path parts of its envelope and F0 figure."""
    esc = html.escape
    s = result["settings"]
    ref = s.get("reference")
    contenders = [m for n, m in result["systems"].items() if n != floor] or list(result["systems"].values())
    best = {}
    for key, *_ in COLUMNS:
        vals = [m[key] for m in contenders if key in m and m[key] == m[key]]
        if vals:
            best[key] = (min(vals) if key in LOWER_IS_BETTER else
                         min(vals, key=lambda v: abs(v - 1.0)) if key == "gv_ratio" else max(vals))
    rows = []
    for name in systems:
        m = result["systems"][name]
        cells = "".join(_cell(m, key, scale, digits, name != floor and m.get(key) == best.get(key))
                        for key, _, scale, digits in COLUMNS)
        rows.append(f"<tr><th>{esc(name)}{' (reference)' if name == ref else ''}</th>{cells}<td>{m['utterances']}</td>"
                    f"<td class=note>{esc(notes.get(name, ''))}</td></tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h, _ in columns)
    audio_rows = []
    for utt in listen:
        cells = [f'<td><audio controls preload="none" src="{esc(url(*folder, utt + ".wav"))}"></audio></td>'
                 for _, folder in columns]
        label = f"<br><small>{esc((labels or {}).get(utt, ''))}</small>" if (labels or {}).get(utt) else ""
        audio_rows.append(f"<tr><th>{esc(utt)}{label}</th>{''.join(cells)}</tr>")
    utt_figs = "".join(f"<figure><img loading=lazy src='{esc(url(*figures[u]))}' alt='{esc(u)}'><figcaption>{esc(u)}: "
                       f"spectral envelope (dB) of natural and each system, F0 contours</figcaption></figure>"
                       for u in listen if u in (figures or {}))
    corpus = [("gv.png", "Global variance per dimension"), ("ms.png", "Modulation spectrum"),
              ("scatter.png", "Mel-cepstral scatter, natural vs each system")]
    if has_curves:
        corpus += [("curves.png", "Training: VAE loss and KL (critic and adversarial stages shaded), α"),
                   ("critic.png", "Critic: D(x) vs D(G(z)), Wasserstein estimate, gradient penalty")]
    figs = "".join(f"<figure><img loading=lazy src='{f}' alt='{esc(c)}'><figcaption>{esc(c)}</figcaption></figure>"
                   for f, c in corpus)
    per_utt = []
    for r in result.get("per_utterance", []):
        cells = "".join(f"<td data-v='{r[k] * scale:.6g}'>{r[k] * scale:.{digits}f}</td>" if k in r else "<td>–</td>"
                        for k, _, scale, digits in COLUMNS)
        per_utt.append(f"<tr data-system='{esc(r['system'])}'><td>{esc(r['utterance'])}</td><td>{esc(r['system'])}</td>"
                       f"{cells}<td>{r['frames']}</td></tr>")
    options = "".join(f"<option>{esc(n)}</option>" for n in systems)
    prov = result.get("provenance", {})
    commit = prov.get("git_commit")
    commit_text = (f"{commit}{' (with uncommitted changes)' if prov.get('git_dirty') else ''}" if commit
                   else "not run from a git checkout")
    config = (f"<details><summary>configuration ({esc(str(prov.get('config_file')))})</summary><pre>{esc(prov['config'])}</pre>"
              f"</details>" if prov.get("config") else "")
    p_note = (f" p: two-sided paired randomization test against {esc(ref)} over the same utterances "
              f"({s.get('resamples')} resamples, exact for few utterances; with {s.get('resamples')} resamples p cannot go "
              f"below about {2 / (1 + (s.get('resamples') or 1)):.1g})." if ref else "")
    headings = "".join(f"<th>{esc(h)}</th>" for _, h, _, _ in COLUMNS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vawgan-tts report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} th, td {{ border: 1px solid #ccc; padding: .3em .6em; text-align: right; }}
th {{ background: #f4f4f4; }} td.note {{ text-align: left; color: #555; font-size: .9em; min-width: 16em; }} small {{ color: #666; }}
td.best {{ font-weight: bold; background: #eaf6ea; }} td small {{ white-space: nowrap; }} figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
audio {{ width: 150px; }} .scroll {{ overflow-x: auto; }} code {{ background: #f4f4f4; padding: 0 .3em; }}
table.sortable thead th {{ cursor: pointer; }} th[data-dir=asc]::after {{ content: " ▲"; }} th[data-dir=desc]::after {{ content: " ▼"; }}
.tall {{ max-height: 32em; overflow-y: auto; display: inline-block; }} pre {{ background: #f8f8f8; padding: .5em; }}
</style></head><body>
<h1>vawgan-tts report</h1>
<p>Experiment <code>{esc(exp_dir.name)}</code>; {s['utterances']} utterances at {s['fs']} Hz, scored against the natural
recordings. Frames paired with the natural recording's {"by DTW of speech frames" if s.get('alignment') == 'dtw' else "one to one (DTW where lengths differ)"}.
GV, MCD and the Fréchet distance on speech frames (within {s['speech_threshold_db']:g} dB of each utterance's loudest);
MCD = 10/ln10·√(2Σ(c_d−ĉ_d)²) over c1–c39, mean over frames then utterances; MS over 0–{s['ms_max_hz']:g} Hz;
Fréchet distance between Gaussian fits of the c1–c39 frames (natural vs system: the joint shape, not only each
dimension's variance); F0 RMSE in cents and log-F0 correlation on frames voiced in both, V/UV error on all aligned frames.
Distances lower is better; GV ratio 1 is natural.
Under each figure, its {100 * s.get('confidence', 0.95):g} % interval over utterances: BCa bootstrap ({s.get('resamples')} resamples)
for the means of per-utterance scores (MCD, F0), jackknife for the distances between corpus statistics (GV, MS, Fréchet;
docs/metrics.md says why).{p_note}
The best of each column is shaded{f"; {esc(floor)} is shown for reference, not ranked" if floor in systems else ""}.</p>
<h2>Metrics</h2>
<div class=scroll><table><tr><th>system</th>{headings}<th>utterances</th><th>what it is</th></tr>
{''.join(rows)}</table></div>
<h2>Listen</h2>
<p>{"Utterances chosen by the per-utterance MCD averaged over the systems: best, median and worst." if labels else "Utterances chosen with --show."}</p>
<div class=scroll><table><tr><th>utterance</th>{head}</tr>{''.join(audio_rows)}</table></div>
{utt_figs}
<h2>Figures</h2>
{figs}
<h2>Every utterance</h2>
<p>Click a heading to sort. Show <select id=system-filter><option value="">all systems</option>{options}</select>
(also in <a href="per_utterance.csv">per_utterance.csv</a>; the corpus figures above are not the means of the
per-utterance GV and MS distances: those compare corpus statistics).</p>
<div class=tall><table class=sortable id=per-utterance><thead><tr><th>utterance</th><th>system</th>{headings}<th>frames</th></tr></thead>
<tbody>{''.join(per_utt)}</tbody></table></div>
<h2>Provenance</h2>
<p>vawgan-tts {esc(str(prov.get('version')))}, commit {esc(commit_text)}; written {esc(str(prov.get('date')))} by
<code>{esc(str(prov.get('command')))}</code>; Python {esc(str(prov.get('python')))}, torch {esc(str(prov.get('torch')))}.</p>
{config}
<script>{SORT_JS}</script>
</body></html>
"""
