"""A blind listening test as static pages, and the aggregation of its answers.

MUSHRA (ITU-R BS.1534-3): each trial plays an open reference (the natural recording) and, in a
random order, every system's version of the same utterance, the hidden reference and the anchor
among them; the listener rates each 0–100. AB preference: each trial plays two systems' versions of
one utterance in a random order; the listener picks A, B or no preference.

TEST/                      the folder handed to listeners; nothing in it names a system
  index.html               instructions and the listener pages
  listener-NN.html         one per listener: trials and stimulus order drawn from (seed, NN)
  audio/<token>.wav        every stimulus under a random token (the hidden reference is a copy of
                           the open reference under another token)
TEST-key.json              beside the folder, for the experimenter: token → system and utterance

A page keeps its answers in the browser until "Download answers" saves them as CSV; `aggregate`
reads any number of those CSVs with the key: MUSHRA scores per system with t-based 95 % intervals
over all ratings and the standard's post-screening of listeners; AB preference shares with Wilson
intervals and binomial tests (scipy.stats).
"""

from __future__ import annotations

import csv
import html
import itertools
import json
import secrets
import shutil
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import scipy.stats

from . import feature_folder
from .choices import LISTENING_TESTS
from .errors import VawganError
from .fileio import write_text_atomic

KINDS = LISTENING_TESTS
REFERENCE = "reference"  # the role of the natural recording in the key
MUSHRA_COLUMNS = ("test", "listener", "trial", "stimulus", "score")
AB_COLUMNS = ("test", "listener", "trial", "a", "b", "choice")
AB_CHOICES = ("A", "B", "none")
# BS.1534-3 §4.1.2: leave out a listener who rates the hidden reference below 90 in more than 15 % of trials.
SCREEN_BELOW, SCREEN_SHARE = 90.0, 0.15


def key_path(test_dir: str | Path) -> Path:
    test_dir = Path(test_dir)
    return test_dir.parent / f"{test_dir.name}-key.json"


def wav_paths(folder: str | Path, ids: Sequence[str], name: str) -> dict[str, Path]:
    """id → WAV of a folder of ``<id>.wav`` (a system's output) or of a feature folder's recordings
    (its manifest names them)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VawganError(folder, f"{name!r}: no such folder")
    recorded = feature_folder.sources(folder) if (folder / feature_folder.MANIFEST).is_file() else {}
    out = {u: folder / f"{u}.wav" if (folder / f"{u}.wav").is_file() else recorded.get(u) for u in ids}
    missing = [u for u, p in out.items() if p is None or not Path(p).is_file()]
    if missing:
        raise VawganError(folder, f"{name!r} has no WAV for {len(missing)} of the {len(ids)} utterance(s), e.g. {missing[0]}")
    return {u: Path(p) for u, p in out.items()}


def _trials(kind: str, ids: Sequence[str], systems: Sequence[str], pairs: Sequence[tuple[str, str]]) -> list[dict]:
    if kind == "mushra":
        return [{"utterance": u, "stimuli": [REFERENCE, *systems]} for u in ids]
    return [{"utterance": u, "pair": list(p)} for u in ids for p in pairs]


def parse_pairs(specs: Sequence[str] | None) -> list[tuple[str, str]] | None:
    """AB's ``--pair A:B`` options -> [(A, B), ...]; None when none is given (every pair)."""
    pairs = []
    for p in specs or ():
        a, sep, b = p.partition(":")
        if not sep or not a or not b:
            raise VawganError(None, f"--pair {p!r}: expected A:B")
        pairs.append((a, b))
    return pairs or None


def write_listening_test(systems: Mapping[str, str | Path], reference: str | Path, out_dir: str | Path,
                         ids: Sequence[str], kind: str = "mushra", anchor: str | None = None,
                         pairs: Sequence[tuple[str, str]] | None = None, listeners: int = 10, seed: int = 0,
                         title: str = "Listening test", overwrite: bool = False) -> dict:
    """Write the test folder and its key. ``systems``: name → folder of ``<id>.wav``; ``reference``:
    the folder of the natural recordings (MUSHRA's open and hidden reference; unused in AB);
    ``anchor``: the system that is MUSHRA's low anchor (e.g. the VAE or the unconverted source);
    ``pairs``: AB's system pairs (default: every pair). An earlier test's key or folder at the same
    place is refused unless ``overwrite`` (the key is the only way to read its answers). Returns the key."""
    if kind not in KINDS:
        raise VawganError(None, f"test kind {kind!r}: choose from {', '.join(KINDS)}")
    if not ids:
        raise VawganError(None, "no utterance to test: give ids")
    if listeners < 1:
        raise VawganError(None, "listeners: at least 1")
    systems = {n: Path(f) for n, f in systems.items()}
    if REFERENCE in systems:
        raise VawganError(None, f"{REFERENCE!r} names the natural recordings; call the system something else")
    if kind == "mushra" and len(systems) < 1 or kind == "ab" and len(systems) < 2:
        raise VawganError(None, f"{kind}: give {'a system' if kind == 'mushra' else 'at least two systems'}")
    if anchor is not None and anchor not in systems:
        raise VawganError(None, f"--anchor {anchor!r} is not among the systems ({', '.join(systems)})")
    if kind == "ab":
        pairs = [tuple(p) for p in pairs] if pairs else list(itertools.combinations(systems, 2))
        for p in pairs:
            if len(p) != 2 or p[0] == p[1] or any(s not in systems for s in p):
                raise VawganError(None, f"AB pair {':'.join(p)}: two different systems among {', '.join(systems)}")
    folders = dict(systems)
    if kind == "mushra":
        if reference is None:
            raise VawganError(None, "mushra: give the natural recordings as the reference")
        folders[REFERENCE] = Path(reference)
    wavs = {name: wav_paths(folder, ids, name) for name, folder in folders.items()}

    out_dir = Path(out_dir)
    if key_path(out_dir).exists() and not overwrite:  # the only key to answers that may have been collected
        raise VawganError(key_path(out_dir), "the key of an earlier test is there: without it its answers cannot be "
                                             "read; give --overwrite to replace that test, or another folder")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (overwrite and (out_dir / "index.html").is_file()):
            raise VawganError(out_dir, "already holds files: a listening test is written once (choose another folder, "
                                       "or --overwrite to replace an earlier test)")
        shutil.rmtree(out_dir)
    test_id = f"{seed}-{secrets.token_hex(4)}"
    stimulus = {}  # (name, utt) -> token of every rated stimulus
    open_ref = {}  # utt -> token of the open reference (MUSHRA), a second copy of the hidden one
    audio = out_dir / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    for utt in ids:
        for name, folder in folders.items():
            token = secrets.token_hex(6)
            shutil.copyfile(wavs[name][utt], audio / f"{token}.wav")
            stimulus[(name, utt)] = token
        if kind == "mushra":
            open_ref[utt] = secrets.token_hex(6)
            shutil.copyfile(wavs[REFERENCE][utt], audio / f"{open_ref[utt]}.wav")
    trials = _trials(kind, ids, list(systems), pairs or [])
    pages = []
    for k in range(1, listeners + 1):
        lrng = np.random.default_rng([seed, k])
        order = lrng.permutation(len(trials))
        page_trials = []
        for t, i in enumerate(order, 1):
            trial = trials[i]
            if kind == "mushra":
                stim = [stimulus[(n, trial["utterance"])] for n in trial["stimuli"]]
                page_trials.append({"trial": t, "reference": open_ref[trial["utterance"]],
                                    "stimuli": [stim[j] for j in lrng.permutation(len(stim))]})
            else:
                a, b = trial["pair"] if lrng.random() < 0.5 else trial["pair"][::-1]
                page_trials.append({"trial": t, "a": stimulus[(a, trial["utterance"])], "b": stimulus[(b, trial["utterance"])]})
        name = f"listener-{k:02d}.html"
        write_text_atomic(out_dir / name, _listener_page(kind, test_id, f"{k:02d}", page_trials, title))
        pages.append(name)
    write_text_atomic(out_dir / "index.html", _index_page(kind, pages, title, len(trials)))
    key = {"test": test_id, "kind": kind, "seed": seed, "listeners": listeners, "anchor": anchor,
           "systems": list(systems), "utterances": list(ids), "pairs": [list(p) for p in pairs or []],
           "stimuli": {t: {"system": n, "utterance": u} for (n, u), t in stimulus.items()}, "open_reference": open_ref}
    write_text_atomic(key_path(out_dir), json.dumps(key, indent=2) + "\n")
    return key


def _index_page(kind: str, pages: Sequence[str], title: str, n_trials: int) -> str:
    links = "".join(f'<li><a href="{p}">{p[:-5]}</a></li>' for p in pages)
    what = ("rate how close each version sounds to the reference, 0 (bad) to 100 (excellent); one of them is the "
            "reference itself" if kind == "mushra" else "pick the version that sounds more natural, or no preference")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 50em; }}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{n_trials} trials; in each, {what}. Use headphones in a quiet room. Open your own page (the experimenter tells
you its number), answer every trial, then press <b>Download answers</b> and send the CSV file back.</p>
<ul>{links}</ul>
</body></html>
"""


_PAGE_JS = r"""
const T = JSON.parse(document.getElementById('trials').textContent);
const M = JSON.parse(document.getElementById('meta').textContent);
const root = document.getElementById('test');
const answers = {};
function audio(token) { const a = document.createElement('audio'); a.controls = true; a.preload = 'none';
  a.src = 'audio/' + encodeURIComponent(token) + '.wav'; return a; }
for (const t of T) {
  const box = document.createElement('section'); box.className = 'trial'; box.dataset.trial = t.trial;
  box.innerHTML = '<h2>Trial ' + t.trial + ' of ' + T.length + '</h2>';
  if (M.kind === 'mushra') {
    const r = document.createElement('p'); r.textContent = 'Reference: '; r.appendChild(audio(t.reference)); box.appendChild(r);
    t.stimuli.forEach((s, i) => {
      const row = document.createElement('div'); row.className = 'row';
      const label = document.createElement('span'); label.textContent = String.fromCharCode(65 + i) + ' ';
      const slider = document.createElement('input'); slider.type = 'range'; slider.min = 0; slider.max = 100;
      slider.value = 50; slider.className = 'score'; slider.dataset.stimulus = s;
      const value = document.createElement('output'); value.textContent = '–';
      slider.addEventListener('input', () => { value.textContent = slider.value;
        answers[t.trial + '/' + s] = [M.test, M.listener, t.trial, s, slider.value]; progress(); });
      row.append(label, audio(s), slider, value); box.appendChild(row);
    });
  } else {
    const row = document.createElement('div'); row.className = 'row';
    row.append('A ', audio(t.a), ' B ', audio(t.b)); box.appendChild(row);
    const choices = document.createElement('div');
    for (const c of ['A', 'B', 'none']) {
      const l = document.createElement('label'); const i = document.createElement('input');
      i.type = 'radio'; i.name = 'trial' + t.trial; i.value = c;
      i.addEventListener('change', () => { answers[String(t.trial)] = [M.test, M.listener, t.trial, t.a, t.b, c]; progress(); });
      l.append(i, c === 'none' ? ' no preference ' : ' ' + c + ' '); choices.appendChild(l);
    }
    box.appendChild(choices);
  }
  root.appendChild(box);
}
const needed = M.kind === 'mushra' ? T.reduce((n, t) => n + t.stimuli.length, 0) : T.length;
function progress() { document.getElementById('done').textContent = Object.keys(answers).length + ' of ' + needed + ' answered'; }
function csvText() {
  const rows = [M.columns.join(',')].concat(Object.values(answers).map(r => r.join(',')));
  return rows.join('\n') + '\n';
}
document.getElementById('download').addEventListener('click', () => {
  if (Object.keys(answers).length < needed &&
      !confirm('Only ' + Object.keys(answers).length + ' of ' + needed + ' answered. Download anyway?')) return;
  const blob = new Blob([csvText()], {type: 'text/csv'});
  const a = document.createElement('a'); a.href = URL.createObjectURL(blob);
  a.download = 'answers-' + M.test + '-listener-' + M.listener + '.csv'; document.body.appendChild(a); a.click(); a.remove();
});
progress();
"""


def _listener_page(kind: str, test_id: str, listener: str, trials: list[dict], title: str) -> str:
    meta = {"kind": kind, "test": test_id, "listener": listener,
            "columns": list(MUSHRA_COLUMNS if kind == "mushra" else AB_COLUMNS)}
    data = json.dumps(trials).replace("</", "<\\/")
    how = ("Play the reference, then each version A, B, …; move every slider: 0–20 bad, 20–40 poor, 40–60 fair, "
           "60–80 good, 80–100 excellent. One version is the reference itself." if kind == "mushra" else
           "Play A and B; choose the one that sounds more natural, or no preference.")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} — listener {listener}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; }}
section.trial {{ border-top: 1px solid #ccc; padding: .5em 0; }} .row {{ display: flex; align-items: center; gap: .8em; margin: .3em 0; }}
input.score {{ width: 20em; }} audio {{ height: 2em; }} #bar {{ position: sticky; top: 0; background: #fff; padding: .5em 0; }}
</style></head><body>
<h1>{html.escape(title)} — listener {listener}</h1>
<p>{how}</p>
<div id=bar><button id=download>Download answers</button> <span id=done></span></div>
<div id=test></div>
<script type="application/json" id=trials>{data}</script>
<script type="application/json" id=meta>{json.dumps(meta)}</script>
<script>{_PAGE_JS}</script>
</body></html>
"""


def _read_answers(path: Path, key: dict) -> list[dict]:
    columns = MUSHRA_COLUMNS if key["kind"] == "mushra" else AB_COLUMNS
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != columns:
                raise VawganError(path, f"not a {key['kind']} answer sheet: columns {', '.join(reader.fieldnames or ())}, "
                                        f"expected {', '.join(columns)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise VawganError(path, f"not readable ({e})") from None
    for n, row in enumerate(rows, 2):
        if row["test"] != key["test"]:
            raise VawganError(path, f"line {n}: answers to test {row['test']!r}, not to this key's {key['test']!r}")
        for col in ("stimulus",) if key["kind"] == "mushra" else ("a", "b"):
            if row[col] not in key["stimuli"]:
                raise VawganError(path, f"line {n}: stimulus {row[col]!r} is not in the key")
        if key["kind"] == "mushra":
            try:
                score = float(row["score"])
            except ValueError:
                score = float("nan")
            if not 0 <= score <= 100:
                raise VawganError(path, f"line {n}: score {row['score']!r} is not a number from 0 to 100")
            row["score"] = score
        elif row["choice"] not in AB_CHOICES:
            raise VawganError(path, f"line {n}: choice {row['choice']!r} is not one of {', '.join(AB_CHOICES)}")
    return rows


def aggregate(answer_files: Sequence[str | Path], key_file: str | Path, screening: bool = True,
              output: str | Path | None = None) -> dict:
    """Scores from answer CSVs. MUSHRA: per system (and the hidden reference) the mean rating, its
    t-based 95 % interval over all ratings (BS.1534-3 §9.3) and the number of ratings, after leaving
    out listeners the post-screening rejects (``screening``). AB: per pair, the counts, the share of
    decided trials preferring the first system with its Wilson 95 % interval, and the two-sided
    binomial p against no preference. Written to ``output`` as JSON too when given."""
    if output is not None:
        from .outputs import claim_file

        claim_file(output, [*answer_files, key_file], "scores")
    key_file = Path(key_file)
    try:
        key = json.loads(key_file.read_text())
        key["stimuli"], key["kind"], key["test"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise VawganError(key_file, f"not a listening-test key ({e})") from None
    if not answer_files:
        raise VawganError(None, "no answer file given")
    rows, seen = [], {}
    for path in map(Path, answer_files):
        for row in _read_answers(path, key):
            ident = (row["listener"], row["trial"], row.get("stimulus", ""))
            if ident in seen:
                raise VawganError(path, f"listener {row['listener']} trial {row['trial']} answered again "
                                        f"(first in {seen[ident]})")
            seen[ident] = path
            rows.append(row)
    result = {"test": key["test"], "kind": key["kind"], "listeners": sorted({r["listener"] for r in rows})}
    if key["kind"] == "mushra":
        system = {t: s["system"] for t, s in key["stimuli"].items()}
        excluded = []
        if screening:
            for listener in result["listeners"]:
                hidden = [r["score"] for r in rows if r["listener"] == listener and system[r["stimulus"]] == REFERENCE]
                if hidden and np.mean(np.array(hidden) < SCREEN_BELOW) > SCREEN_SHARE:
                    excluded.append(listener)
        kept = [r for r in rows if r["listener"] not in excluded]
        scores = {}
        for name in [REFERENCE, *key["systems"]]:
            x = np.array([r["score"] for r in kept if system[r["stimulus"]] == name])
            entry = {"mean": float(x.mean()) if len(x) else float("nan"), "ratings": len(x)}
            if len(x) >= 2 and np.ptp(x) > 0:
                ci = scipy.stats.ttest_1samp(x, 0.0).confidence_interval(0.95)
                entry["ci95"] = [float(ci.low), float(ci.high)]
            else:
                entry["ci95"] = [entry["mean"], entry["mean"]] if len(x) else [float("nan")] * 2
            entry["anchor"] = name == key.get("anchor")
            scores[name] = entry
        result |= {"excluded_listeners": excluded, "scores": scores}
    else:
        pairs = {}
        for r in rows:
            sa, sb = key["stimuli"][r["a"]]["system"], key["stimuli"][r["b"]]["system"]
            first, second = sorted((sa, sb), key=key["systems"].index)
            entry = pairs.setdefault(f"{first} vs {second}", {"first": first, "second": second, first: 0, second: 0, "none": 0})
            entry[{"A": sa, "B": sb, "none": "none"}[r["choice"]]] += 1
        for entry in pairs.values():
            k, n = entry[entry["first"]], entry[entry["first"]] + entry[entry["second"]]
            if n:
                test = scipy.stats.binomtest(k, n, 0.5)
                ci = test.proportion_ci(0.95, method="wilson")
                entry |= {"share_first": k / n, "ci95": [float(ci.low), float(ci.high)], "p": float(test.pvalue)}
            else:
                entry |= {"share_first": float("nan"), "ci95": [float("nan")] * 2, "p": float("nan")}
        result["pairs"] = pairs
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2) + "\n")
    return result
