"""The listening and reading report: every system on the eval list, metrics, figures, audio.

REPORT/
  index.html                the page: metrics table, figures, an <audio> player per system
  metrics.json, *.png       from vawgan_tts.evaluation
  curves.png, critic.png    the experiment's training curves
  systems/<name>/<utt>.{npz,wav}   each system's features and waveform
  systems/copy-reanalysed/  the copy-synthesized audio analysed again (the vocoder's own loss)
  audio/natural/<utt>.wav   the original recordings of the utterances with players
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Callable, Sequence

from . import extract as X
from . import feature_folder
from .choices import SYSTEMS
from .extract import ExtractConfig
from .enhance import make_system
from .errors import VawganError
from .evaluation import evaluate
from .fileio import write_text_atomic
from .synthesis import synthesize_corpus

REPORT_SYSTEMS = SYSTEMS
SYSTEM_NOTES = {
    "copy": "WORLD analysis–synthesis, analysed again: the vocoder's own loss, the floor for every system",
    "vae": "VAE reconstruction (z = μ) after the VAE stage: accurate, over-smoothed",
    "vawgan": "the same VAE after adversarial training of its decoder",
    "gv-pf": "VAE output with the global-variance post-filter",
    "ms-pf": "VAE output with the modulation-spectrum post-filter",
}


def build_report(exp_dir: str | Path, out_dir: str | Path, ids: Sequence[str], feats_dir: str | Path | None = None,
                 systems: Sequence[str] = REPORT_SYSTEMS, n_audio: int = 4, jobs: int = 1,
                 on_progress: Callable[[str], None] | None = None) -> dict:
    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    if feats_dir is None:
        from .runs.folder import CONFIG
        from .runs.vawgan import experiment_feats, load_experiment_config

        feats_dir = experiment_feats(exp_dir, load_experiment_config(exp_dir / CONFIG))
    feats_dir = Path(feats_dir)
    sys_root = out_dir / "systems"
    eval_dirs = {}
    for name in systems:
        if on_progress:
            on_progress(name)
        synthesize_corpus(feats_dir, sys_root / name, ids, transform=make_system(name, exp_dir))
        eval_dirs[name] = sys_root / name
    if "copy" in systems:
        cfg = feature_folder.analysis_settings(feats_dir) or ExtractConfig()
        reanalysed = sys_root / "copy-reanalysed"
        X.run([sys_root / "copy" / f"{u}.wav" for u in ids], reanalysed, cfg, jobs=jobs, overwrite=True)
        eval_dirs["copy"] = reanalysed
    if on_progress:
        on_progress("eval")
    result = evaluate(feats_dir, eval_dirs, out_dir, ids=ids)
    for png in ("curves.png", "critic.png"):
        if (exp_dir / png).is_file():
            shutil.copy(exp_dir / png, out_dir / png)
    sources = feature_folder.sources(feats_dir)
    listen = [u for u in ids if u in sources][:n_audio]
    for utt in listen:
        dst = out_dir / "audio" / "natural" / f"{utt}.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sources[utt], dst)
    columns = [("natural", "audio/natural")] + [(n, f"systems/{n}") for n in systems]
    write_text_atomic(out_dir / "index.html", render_html(result, systems, listen, exp_dir, columns))
    return result


CONVERSION_NOTES = {
    "source": "the source speaker (the synthesizer's voice), unconverted: where conversion starts",
    "converted": "the DNN converter's output (MLPG trajectory, log-F0 transform)",
    "converted+gv-pf": "the converter's output, GV post-filtered to the target's natural GV (training prompts)",
    "converted+ms-pf": "the converter's output, MS post-filtered from its own MS to the target's (training prompts)",
}


def build_conversion_report(exp_dir: str | Path, out_dir: str | Path, ids: Sequence[str], n_audio: int = 4,
                            on_progress: Callable[[str], None] | None = None,
                            extra: dict[str, Path] | None = None) -> dict:
    """The parallel layout: the source voice, its conversion and the target speaker's natural
    recording of each prompt, side by side; metrics with DTW alignment to the natural recording.
    ``extra``: name → folder of further systems' ``<id>.npz`` and ``<id>.wav`` (e.g. the converter's
    output enhanced by `vawgan enhance`), evaluated and played beside the others."""
    from .runs.converter import CONFIG, Converter

    exp_dir, out_dir = Path(exp_dir), Path(out_dir)
    converter = Converter(exp_dir)
    source, target = Path(converter.config.data.source), Path(converter.config.data.target)
    for folder in (source, target):
        if not folder.is_dir():
            raise VawganError(exp_dir / CONFIG, f"the feature folder it names does not exist ({folder})")
    trained = set(converter.config.data.ids)
    if trained & set(ids):
        raise VawganError(None, f"{len(trained & set(ids))} report prompt(s) were used in training, e.g. "
                                f"{sorted(trained & set(ids))[0]}: report on held-out prompts")
    systems = {"source": source}
    for name, pf in (("converted", None), ("converted+gv-pf", "gv"), ("converted+ms-pf", "ms")):
        if on_progress:
            on_progress(name)
        synthesize_corpus(source, out_dir / "systems" / name, ids,
                          transform=converter if pf is None else Converter(exp_dir, postfilter=pf))
        systems[name] = out_dir / "systems" / name
    for name, folder in (extra or {}).items():
        missing = [u for u in ids if not (Path(folder) / f"{u}.npz").is_file()]
        if missing:
            raise VawganError(folder, f"system {name!r} has no features for {len(missing)} report prompt(s), e.g. {missing[0]}")
        systems[name] = Path(folder)
    if on_progress:
        on_progress("eval")
    result = evaluate(target, systems, out_dir, ids=ids, align="dtw")
    src_wavs, nat_wavs = feature_folder.sources(source), feature_folder.sources(target)
    listen = [u for u in ids if u in src_wavs and u in nat_wavs][:n_audio]
    for utt in listen:
        for side, wavs in (("source", src_wavs), ("natural", nat_wavs)):
            dst = out_dir / "audio" / side / f"{utt}.wav"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(wavs[utt], dst)
    columns = [("source voice", "audio/source"), ("converted", "systems/converted"),
               ("+ GV post-filter", "systems/converted+gv-pf"), ("+ MS post-filter", "systems/converted+ms-pf")]
    for k, (name, folder) in enumerate((extra or {}).items()):
        for utt in listen:
            dst = out_dir / "audio" / f"extra{k}" / f"{utt}.wav"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(folder) / f"{utt}.wav", dst)
        columns.append((name, f"audio/extra{k}"))
    columns.append(("natural target", "audio/natural"))
    notes = {**CONVERSION_NOTES, **{name: f"given with --extra ({folder})" for name, folder in (extra or {}).items()}}
    write_text_atomic(out_dir / "index.html", render_html(result, list(systems), listen, exp_dir, columns,
                                                          notes=notes, reference=None))
    return result


def render_html(result: dict, systems: Sequence[str], listen: Sequence[str], exp_dir: Path,
                columns: Sequence[tuple[str, str]], notes: dict[str, str] = SYSTEM_NOTES, reference: str | None = "copy") -> str:
    """The page. ``columns``: (heading, folder of ``<utt>.wav`` relative to the page) of each audio
    column; ``reference``: a system shown but not ranked (the vocoder's floor)."""
    esc = html.escape
    s = result["settings"]
    rows = []
    # copy is the vocoder's floor, a reference rather than a contender: the best is among the rest.
    contenders = [m for n, m in result["systems"].items() if n != reference] or list(result["systems"].values())
    keys = ("gv_distance", "ms_distance", "mcd_db", "f0_rmse_cents")
    best = {k: min(m[k] for m in contenders) for k in keys}
    for name in systems:
        m = result["systems"][name]
        cells = "".join(
            f"<td{' class=best' if m[k] == best[k] and name != reference else ''}>{m[k]:.{1 if k == 'f0_rmse_cents' else 3}f}</td>"
            for k in keys
        )
        rows.append(f"<tr><th>{esc(name)}</th>{cells}<td>{100 * m['vuv_error']:.1f}</td><td>{m['gv_ratio']:.3f}</td>"
                    f"<td>{m['utterances']}</td><td class=note>{esc(notes.get(name, ''))}</td></tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h, _ in columns)
    audio_rows = []
    for utt in listen:
        cells = [f'<td><audio controls preload="none" src="{esc(folder)}/{esc(utt)}.wav"></audio></td>' for _, folder in columns]
        audio_rows.append(f"<tr><th>{esc(utt)}</th>{''.join(cells)}</tr>")
    figures = [("gv.png", "Global variance per dimension"), ("ms.png", "Modulation spectrum"),
               ("scatter.png", "Mel-cepstral scatter, natural vs each system"),
               ("curves.png", "Training: VAE loss and KL (critic and adversarial stages shaded), α"),
               ("critic.png", "Critic: D(x) vs D(G(z)), Wasserstein estimate, gradient penalty")]
    figs = "".join(f"<figure><img src='{f}' alt='{esc(c)}'><figcaption>{esc(c)}</figcaption></figure>"
                   for f, c in figures if (Path(exp_dir) / f).exists() or f in ("gv.png", "ms.png", "scatter.png"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vawgan-tts report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} th, td {{ border: 1px solid #ccc; padding: .35em .7em; text-align: right; }}
th {{ background: #f4f4f4; }} td.note {{ text-align: left; color: #555; font-size: .9em; }}
td.best {{ font-weight: bold; background: #eaf6ea; }} figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
audio {{ width: 150px; }} .scroll {{ overflow-x: auto; }} code {{ background: #f4f4f4; padding: 0 .3em; }}
</style></head><body>
<h1>vawgan-tts report</h1>
<p>Experiment <code>{esc(str(exp_dir))}</code>; natural features <code>{esc(str(s['natural']))}</code>;
{s['utterances']} utterances at {s['fs']} Hz. Frames paired with the natural recording's {"by DTW of speech frames" if s.get('alignment') == 'dtw' else "one to one (DTW where lengths differ)"}.
GV and MCD on speech frames (within {s['speech_threshold_db']:g} dB of
each utterance's loudest); MCD = 10/ln10·√(2Σ(c_d−ĉ_d)²) over c1–c39, mean over frames then utterances;
MS over 0–{s['ms_max_hz']:g} Hz; F0 RMSE in cents on frames voiced in both, V/UV error on all aligned frames.
Distances in dB, lower is better; GV ratio 1 is natural.
The best of each column is shaded{f"; {reference} is the vocoder's floor, for reference" if reference else ""}.</p>
<h2>Metrics</h2>
<table><tr><th>system</th><th>log-GV distance [dB]</th><th>MS distance [dB]</th><th>MCD [dB]</th><th>F0 RMSE [cent]</th><th>V/UV error [%]</th><th>GV ratio</th><th>utterances</th><th>what it is</th></tr>
{''.join(rows)}</table>
<h2>Listen</h2>
<div class=scroll><table><tr><th>utterance</th>{head}</tr>{''.join(audio_rows)}</table></div>
<h2>Figures</h2>
{figs}
</body></html>
"""
