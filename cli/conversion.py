"""`vawgan`'s conversion and enhancement commands: the parallel corpus, the converters (DNN and
VAWGAN-VC), speaker identification, the pair post-filter and `enhance`. Registered in cli/vawgan.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from vawgan_tts.cli.common import (BatchSizeOption, CheckpointChoice, CodeChoice, ConfigOption, DevIdsOption,
                                   DeviceOption, EXIT_PARTIAL, EnhanceMethod, IdsOption, InferenceZ, OutputOption,
                                   OverwriteOption, PostfilterChoice, ReplaceOption, ResumeOption, SeedOption, StageName,
                                   TrainIdsOption, default_jobs, fail, out, progress_bar, read_id_list, say,
                                   refuse_settings_on_resume, synthesize_ids, table)


def parallel_corpus(
    transcripts: Annotated[Path, typer.Argument(help="Transcript file, one 'name: text' line per prompt (.gz or plain).")],
    recordings: Annotated[Path, typer.Option("--recordings", help="Folder of the natural recordings (searched recursively).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Corpus folder to write.")],
    voice: Annotated[list[str], typer.Option("--voice", help="flite voice speaking every transcript; repeat [default: slt].")] = ["slt"],
    suffix: Annotated[str, typer.Option("--suffix", help="File ending of the recordings.")] = ".g722",
    format: Annotated[Optional[str], typer.Option("--format", help="FFmpeg container of the recordings when their files have none to probe [default: g722 for .g722].")] = None,
    flite: Annotated[Optional[Path], typer.Option("--flite", help="Folder where Debian's flite and libflite1 are unpacked [default: flite on PATH].")] = None,
    fs: Annotated[int, typer.Option("--fs", min=1000, help="The rate both sides must have (Hz).")] = 16000,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Parallel processes [default: all cores].")] = None,
):
    """Natural recordings and flite's synthesis of the same transcripts as WAVs; parallel, resumable."""
    from vawgan_tts.corpus import FAILED, Flite, prepare_parallel_corpus

    fmt = format or ("g722" if suffix == ".g722" else None)
    engine = Flite.find(flite) if voice else None
    with progress_bar("wavs") as progress:
        task = progress.add_task("prepare", total=None)
        summary = prepare_parallel_corpus(transcripts, recordings, output, voices=voice, suffix=suffix, fmt=fmt,
                                          flite=engine, fs=fs, jobs=jobs or default_jobs(),
                                          on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    n = len(summary.prepared[next(iter(summary.prepared))])
    out.print(f"{n} prompt{'s' * (n != 1)} on every side ({', '.join(summary.prepared)}), {summary.made} WAVs written → {output}", soft_wrap=True)
    for side, utt, reason in summary.failed:
        out.print(escape(f"  left out {side} {utt}: {reason}"), highlight=False, soft_wrap=True)
    if summary.failed:
        out.print(f"{len(summary.failed)} left out, also in {output / FAILED}")


def train_converter(
    source: Annotated[Path, typer.Argument(help="Feature folder of the source speaker (from `vawgan extract`).")],
    target: Annotated[Path, typer.Argument(help="Feature folder of the target speaker's recordings of the same prompts.")],
    output: OutputOption,
    ids: TrainIdsOption,
    dev_ids: DevIdsOption = None,
    config: ConfigOption = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Epochs per alignment round [default: the config's].")] = None,
    rounds: Annotated[Optional[int], typer.Option("--rounds", min=1, help="Rounds of alignment and training [default: the config's, 3].")] = None,
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for the alignment [default: all cores].")] = None,
    overwrite: OverwriteOption = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted training (the experiment's own configuration; finished rounds kept).")] = False,
    adversarial: Annotated[bool, typer.Option("--adversarial", help="Then train the adversarial converter (Saito et al. 2018) from the DNN, into EXP/adv-w<W>/; with an existing DNN in EXP, only that.")] = False,
    adv_weight: Annotated[Optional[float], typer.Option("--adv-weight", min=0.0, help="w_d, the adversarial term's weight relative to the MSE [default: the config's [adv], 1].")] = None,
):
    """Train a parallel DNN converter (MLPG output) with rounds of DTW alignment and training."""
    from vawgan_tts.runs.converter import load_converter_config, run_converter

    refuse_settings_on_resume(resume, output, **{"--config": config, "--epochs": epochs, "--rounds": rounds,
                                                 "--batch-size": batch_size, "--seed": seed, "--device": device,
                                                 "--adv-weight": adv_weight})
    cfg = load_converter_config(
        config, data__source=str(source), data__target=str(target), data__ids=read_id_list(ids),
        data__dev_ids=read_id_list(dev_ids), dnn__epochs=epochs, dnn__rounds=rounds, adv__adv_weight=adv_weight,
        train__batch_size=batch_size, train__seed=seed, train__device=device,
    )
    run_converter(output, cfg, adversarial, jobs=jobs or default_jobs(), overwrite=overwrite, say=say, resume=resume)


def convert(
    feats: Annotated[Path, typer.Argument(help="Source speaker's feature folder.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Converter experiment folder (from `vawgan train-converter`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for converted .npz features and .wav files.")],
    ids: IdsOption = None,
    postfilter: Annotated[Optional[PostfilterChoice], typer.Option("--postfilter", help="gv: scale each utterance's GV to the target's natural GV; ms: move the modulation spectrum from the converter's own to the target's [default: none].")] = None,
    adversarial: Annotated[Optional[float], typer.Option("--adversarial", min=0.0, metavar="W", help="Use the adversarial converter trained with w_d = W (EXP/adv-w<W>/) [default: the DNN].")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="VAWGAN-VC model (from `vawgan train-vc`): the target speaker.")] = None,
    source: Annotated[Optional[str], typer.Option("--from", help="VAWGAN-VC: the source speaker, for its log-F0 statistics [default: each utterance's own].")] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="VAWGAN-VC: adv (VAWGAN-VC) or vae (VAE-VC, after the VAE stage) [default: adv].")] = None,
    members: Annotated[Optional[int], typer.Option("--members", min=1, help="A parallel converter trained with [dnn] members = K: convert with its first N networks only [default: all K].")] = None,
    code: Annotated[Optional[CodeChoice], typer.Option("--code", help="VAWGAN-VC: the source's codes as they are, or moved by the mean (shift) or mean and deviation (standardize) of the two speakers' training codes; needs --from [default: as-is].")] = None,
    checkpoint: Annotated[Optional[CheckpointChoice], typer.Option("--checkpoint", help="VAWGAN-VC: each stage's last checkpoint, or its best dev epoch (a model trained with --dev-ids) [default: last].")] = None,
    knn: Annotated[Optional[int], typer.Option("--knn", min=0, metavar="K", help="VAWGAN-VC: read each frame out of the target's own training frames, the mean of the K whose codes are nearest (kNN-VC), instead of the decoder [default: 0, the decoder].")] = None,
    knn_context: Annotated[Optional[int], typer.Option("--knn-context", min=0, metavar="C", help="VAWGAN-VC with --knn: match each frame by the codes of the C frames either side of it too, in the source and in the target's prompts alike [default: 0, its own code].")] = None,
    overwrite: ReplaceOption = False,
):
    """Convert a source speaker's features to the target speaker's and write WAVs through WORLD.

    With a parallel converter (`vawgan train-converter`) the target is the one it was trained for;
    with a VAWGAN-VC model (`vawgan train-vc`) any trained speaker: --to SPEAKER."""
    from vawgan_tts.runs.apply import open_converter

    transform = open_converter(model, to, source, stage, postfilter and postfilter.value, adversarial, members,
                               code and code.value, knn, checkpoint and checkpoint.value, knn_context)
    options = {"--postfilter": postfilter and postfilter.value, "--adversarial": adversarial, "--to": to, "--from": source, "--stage": stage,
               "--members": members, "--code": code and code.value, "--knn": knn, "--knn-context": knn_context,
               "--checkpoint": checkpoint and checkpoint.value}
    n = synthesize_ids(feats, output, ids, transform, "convert", " ".join(["convert", *(f"{k} {v}" for k, v in options.items() if v is not None)]),
                       model, overwrite)
    out.print(f"converted {n} utterances (.npz + .wav) → {output}")


def train_vc(
    speakers: Annotated[list[str], typer.Argument(help="NAME=FEATS of each speaker: a feature folder from `vawgan extract`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Experiment folder.")],
    ids: Annotated[Path, typer.Option("--ids", help="Training prompt ids; dealt to the speakers in turn (non-parallel).")],
    dev_ids: Annotated[Optional[Path], typer.Option("--dev-ids", help="Dev prompt ids, dealt the same way.")] = None,
    config: ConfigOption = None,
    split: Annotated[Optional[str], typer.Option("--split", help="disjoint: each prompt to one speaker (non-parallel); shared: every prompt to all [default: disjoint].")] = None,
    stage: Annotated[StageName, TrainIdsOption, typer.Option("--stage", help="Train one stage, or all in order.")] = StageName["all"],
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
):
    """Train VAWGAN voice conversion (Hsu et al. 2017) on several speakers without parallel data."""
    from vawgan_tts.evaluation import parse_systems
    from vawgan_tts.runs.vawgan_vc import load_vc_config, train_vawgan_vc

    folders = parse_systems(speakers, "SPEAKERS")
    cfg = load_vc_config(config, list(folders), data__feats=tuple(map(str, folders.values())),
                         data__ids=read_id_list(ids), data__dev_ids=read_id_list(dev_ids), data__split=split,
                         train__batch_size=batch_size, train__seed=seed, train__device=device)
    train_vawgan_vc(output, cfg, stages=None if stage.value == "all" else [stage.value], resume=resume,
                    overwrite=overwrite)
    out.print(f"VAWGAN-VC ({', '.join(folders)}) → {output}")


def prematch(
    model: Annotated[Path, typer.Argument(help="VAWGAN-VC experiment folder (from `vawgan train-vc`).")],
    speaker: Annotated[str, typer.Option("--speaker", help="The speaker whose own prompts are read out: the target of the conversions to post-filter.")],
    knn: Annotated[int, typer.Option("--knn", min=1, metavar="K", help="Frames averaged per frame: the conversions' --knn.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the read-out .npz features and the share lists train.ids, dev.ids.")],
    stage: Annotated[str, typer.Option("--stage", help="adv (VAWGAN-VC) or vae (VAE-VC): the conversions' --stage.")] = "adv",
    checkpoint: Annotated[CheckpointChoice, typer.Option("--checkpoint", help="Each stage's last checkpoint, or its best dev epoch: the conversions' --checkpoint.")] = CheckpointChoice["last"],
    knn_context: Annotated[int, typer.Option("--knn-context", min=0, metavar="C", help="Match by the codes of the C frames either side too: the conversions' --knn-context.")] = 0,
    overwrite: ReplaceOption = False,
):
    """A speaker's own prompts read out of its other frames as `convert --knn K` reads a conversion to it
    (kNN-VC's prematching): pairs with its recordings for `vawgan train-postfilter`.

    Each prompt of the speaker's training share is read out of the rest of the share (its own frames left
    out); each of its dev share out of the whole share. Then: `vawgan train-postfilter OUT FEATS --ids
    OUT/train.ids --dev-ids OUT/dev.ids`, and `vawgan enhance` the conversions with it."""
    from vawgan_tts.runs.vawgan_vc import prematch as read_out

    with progress_bar("utts") as progress:
        task = progress.add_task("prematch", total=None)
        train, dev = read_out(model, speaker, output, knn, stage, checkpoint.value, overwrite,
                              on_progress=lambda _: progress.advance(task), knn_context=knn_context)
    out.print(f"{speaker}'s {len(train)} training and {len(dev)} dev prompts read out (k = {knn}) → {output}")


def speaker_id(
    speakers: Annotated[list[str], typer.Argument(help="NAME=FEATS of each speaker the classifier knows (feature folders).")],
    ids: Annotated[Path, typer.Option("--ids", help="Prompts to train the classifier on (every speaker's recordings of them).")],
    eval_ids: Annotated[Path, typer.Option("--eval-ids", help="Held-out prompts: each speaker's own recordings of them are identified (the classifier's confusion matrix), and every --score folder's.")],
    score: Annotated[Optional[list[str]], typer.Option("--score", help="NAME=DIR of converted features to identify; repeat.")] = None,
    expect: Annotated[Optional[list[str]], typer.Option("--expect", help="NAME=SPEAKER: the speaker a --score set should sound like; its share is reported.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the counts as JSON here too.")] = None,
    seed: SeedOption = None,
):
    """Train a speaker classifier on mel-cepstral frames; report which speaker each utterance sounds like."""
    from vawgan_tts.evaluation import parse_systems
    from vawgan_tts.outputs import claim_file
    from vawgan_tts.speaker_id import identify_sets

    if output is not None:  # before the classifier trains
        claim_file(output, [ids, eval_ids], "counts")
    expected = {name: str(who) for name, who in parse_systems(expect, "--expect").items()}
    result = identify_sets(parse_systems(speakers, "SPEAKERS"), read_id_list(ids), read_id_list(eval_ids),
                           parse_systems(score, "--score"), expected, seed=seed or 0, output=output)
    names, n = result["speakers"], result["utterances"]
    out.print(table(f"speaker identification, {n} held-out prompts each (frame accuracy on its own validation frames "
                     f"{100 * result['frame_accuracy']:.1f} %)", ("utterances of", *(f"→ {s}" for s in names), "to the expected"),
                     [(label, *(r["counts"][s] for s in names), f"{100 * r['share']:.1f} % ({r['expected']})" if r["expected"] else "")
                      for label, r in result["sets"].items()]))


def train_postfilter(
    system: Annotated[Path, typer.Argument(help="Feature folder of the system's output on the training (and dev) prompts.")],
    natural: Annotated[Path, typer.Argument(help="Feature folder of the natural recordings of the same prompts.")],
    output: OutputOption,
    ids: TrainIdsOption,
    dev_ids: DevIdsOption = None,
    config: ConfigOption = None,
    adv_weight: Annotated[Optional[float], typer.Option("--adv-weight", min=0.0, help="Weight of the adversarial term in the decoder's loss [default: the config's [postfilter]].")] = None,
    sweep: Annotated[Optional[str], typer.Option("--sweep", metavar="W1,W2,…", help="Then train the critic and adversarial stages again from the same VAE at each weight, into EXP/adv-w<W>/ (with an existing EXP, only that).")] = None,
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for the alignment [default: all cores].")] = None,
    overwrite: OverwriteOption = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted training from EXP/checkpoints/last.pt (its own configuration, alignment and normalization).")] = False,
    vae_only: Annotated[bool, typer.Option("--vae-only", help="Train the VAE stage alone (the critic and adversarial stages at 0 epochs): what a run of other critic settings starts from.")] = False,
):
    """Train a VAWGAN post-filter on (system output, natural) pairs of the same prompts, aligned by DTW."""
    from vawgan_tts.runs.vawgan_postfilter import load_pair_postfilter_config, parse_weights, run_postfilter

    weights = parse_weights(sweep)  # refused before any training, not after it
    refuse_settings_on_resume(resume, output, **{"--config": config, "--adv-weight": adv_weight, "--batch-size": batch_size,
                                                 "--seed": seed, "--device": device, "--vae-only": vae_only or None})
    if vae_only and weights:
        raise fail("--vae-only trains no adversarial stage, and --sweep trains it at each weight: give one of them")
    cfg = load_pair_postfilter_config(
        config, data__system=str(system), data__natural=str(natural), data__ids=read_id_list(ids),
        data__dev_ids=read_id_list(dev_ids), postfilter__adv_weight=adv_weight,
        postfilter__critic_epochs=0 if vae_only else None, postfilter__adv_epochs=0 if vae_only else None,
        train__batch_size=batch_size, train__seed=seed, train__device=device,
    )
    run_postfilter(output, cfg, weights, jobs=jobs or default_jobs(), overwrite=overwrite, say=say, resume=resume)


def enhance(
    inputs: Annotated[list[Path], typer.Argument(help="A system's output: one feature folder (.npz), or WAV/FLAC files, folders or lists (analysed as the model's features were).")],
    model: Annotated[Path, typer.Option("--model", "-m", help="A pair post-filter (`vawgan train-postfilter`) or an enhancement VAWGAN (`vawgan train`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for enhanced .npz features and .wav files.")],
    method: Annotated[EnhanceMethod, typer.Option("--method", help="vawgan or vae: the model's decoder after that stage; gv-pf, ms-pf: the GV or MS post-filter with the model's natural statistics.")] = EnhanceMethod["vawgan"],
    ids: IdsOption = None,
    checkpoint: Annotated[CheckpointChoice, typer.Option("--checkpoint", help="Each stage's last checkpoint, or its best dev epoch.")] = CheckpointChoice["last"],
    adv_weight: Annotated[Optional[float], typer.Option("--adv-weight", min=0.0, metavar="W", help="With a pair post-filter's --sweep: the VAWGAN trained at weight W (EXP/adv-w<W>/).")] = None,
    system_feats: Annotated[Optional[Path], typer.Option("--system-feats", help="For ms-pf with an enhancement VAWGAN: the system's output on training prompts (the MS to undo).")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for analysing WAVs [default: all cores].")] = None,
    z: Annotated[Optional[InferenceZ], typer.Option("--z", help="A conv post-filter's latent: mean (z = μ), prior (noise per frame) or posterior (z ~ q(z|x)) [default: its config's].")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of a conv post-filter's noise (prior, posterior): the same seed, the same output.")] = 0,
    spread_crop: Annotated[Optional[int], typer.Option("--spread-crop", min=0, metavar="L", help="A conv post-filter's spread filter over spans longer than L frames in crops of L, cross-faded (0: whole) [default: its config's].")] = None,
    overwrite: ReplaceOption = False,
):
    """Enhance a synthesis or conversion system's output (features or WAVs) and write WAVs through WORLD."""
    from vawgan_tts.enhance import enhance_corpus
    from vawgan_tts.runs.apply import analysis_settings, open_enhancer

    transform = open_enhancer(model, method.value, checkpoint.value, adv_weight, system_feats, seed=seed,
                              inference_z=z.value if z is not None else None, spread_crop=spread_crop)
    with progress_bar("utts") as progress:
        task = progress.add_task(method.value, total=None)
        options = {"--method": method.value, "--checkpoint": checkpoint.value, "--adv-weight": adv_weight,
                   "--system-feats": system_feats, "--z": z and z.value, "--seed": seed, "--spread-crop": spread_crop}
        written, failed = enhance_corpus(inputs, output, transform, analysis_settings(model), read_id_list(ids),
                                         jobs=jobs or default_jobs(), on_progress=lambda _: progress.advance(task),
                                         result=" ".join(["enhance", *(f"{k} {v}" for k, v in options.items() if v is not None)]),
                                         model=model, overwrite=overwrite)
    for utt, reason in sorted(failed.items()):
        out.print(escape(f"{utt}: {reason}"), soft_wrap=True)
    if failed and not written:  # nothing done: bad input, not a partial failure
        raise fail(f"{output}: none of the {len(failed)} utterances could be enhanced (reasons above and in {output / 'failed.tsv'})")
    out.print(f"{method.value}: enhanced {len(written)} utterances (.npz + .wav) → {output}"
              + (f"; {len(failed)} failed, listed in {output / 'failed.tsv'}" if failed else ""))
    if failed:
        raise typer.Exit(EXIT_PARTIAL)
