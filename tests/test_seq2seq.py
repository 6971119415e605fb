"""Seq2seq: text data, batching, training on real CMUdict words, decoding, metrics, the CLI."""

import json

import pytest
import torch
from typer.testing import CliRunner

from vawgan_tts.cli.gen import app
from vawgan_tts.batching import SequenceBatches
from vawgan_tts.data.text import (EOS_ID, SOS_ID, UNK_ID, Vocab, clean_text, load_cmudict, parse_edict,
                                  read_pairs_tsv, split_of, tokenize)
from vawgan_tts.errors import VawganError
from vawgan_tts.runs.translate import g2p_scores, load_translator
from vawgan_tts.models.seq2seq_decoding import beam_search, greedy_decode
from vawgan_tts.trainer import read_log

runner = CliRunner()
REPO_EDICT = "downloads/edict/root/usr/share/edict/edict"


def invoke(*args, input=None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def g2p_exp(tmp_path_factory):
    exp = tmp_path_factory.mktemp("g2p") / "exp"
    r = invoke("seq2seq", "train", "-o", exp, "--limit", "400", "--epochs", "4", "--batch-size", "32", "--seed", "0")
    assert r.exit_code == 0, r.output
    return exp


def test_vocab_and_tokenizers():
    v = Vocab.build([["b", "a"], ["c", "a"]])
    assert v.itos[:4] == ["<pad>", "<s>", "</s>", "<unk>"] and v.itos[4:] == ["a", "b", "c"]
    assert v.encode(["a", "z"]) == [4, UNK_ID] and v.unknown(["a", "z"]) == ["z"]
    assert v.decode([4, 5, EOS_ID, 6]) == ["a", "b"]
    assert tokenize("Don't", "letters") == list("don't")
    assert tokenize("S P IY1 CH", "space") == ["S", "P", "IY1", "CH"]
    assert tokenize("Hello, world!", "word") == ["hello", ",", "world", "!"]
    assert clean_text("a\x00b\u200bc\td") == "abc d"
    from vawgan_tts.data.text import detokenize

    assert detokenize(tokenize("Good-natured (fig.), one-to-one!", "word"), "word") == "good-natured (fig.), one-to-one!"
    assert clean_text("１０分") == "10分"  # NFKC


def test_pairs_tsv_refuses_malformed_lines_with_their_number(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("# comment\nGo.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\n\nHi.\tSalut !\n")
    assert read_pairs_tsv(good) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("Go.\tVa !\nno tab here\n")
    with pytest.raises(VawganError, match=r"line 2: expected source<TAB>target") as e:
        read_pairs_tsv(bad)
    assert str(bad) in str(e.value)
    bad.write_text("Go.\tVa !\nHi.\t  \n")
    with pytest.raises(VawganError, match="line 2: empty target"):
        read_pairs_tsv(bad)


def test_cmudict_split_is_by_word_and_stable():
    pairs = load_cmudict()
    assert len(pairs) > 130000
    words = {w for w, _ in pairs}
    assert ("read", ["R", "EH1", "D"]) in pairs and ("read", ["R", "IY1", "D"]) in pairs
    splits = [split_of(w, 0.05, 0.05) for w in sorted(words)[:20000]]
    assert 0.03 < splits.count("test") / len(splits) < 0.07
    assert split_of("read", 0.05, 0.05) == split_of("read", 0.05, 0.05)


def test_edict_expressions_from_the_real_dictionary():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / REPO_EDICT
    if not path.is_file():
        pytest.fail(f"{path} missing: run `make data`")
    pairs = parse_edict(path)
    assert len(pairs) > 10000
    assert ("綺麗な薔薇には棘がある", "(proverb) there is no rose without a thorn") in pairs or any(
        j == "綺麗な薔薇には棘がある" for j, _ in pairs)
    assert all(not e.startswith("(exp") for _, e in pairs)


def test_per_and_wer_on_hand_checked_examples():
    refs = {"cat": [["K", "AE1", "T"]], "read": [["R", "EH1", "D"], ["R", "IY1", "D"]], "dog": [["D", "AO1", "G"]]}
    # cat: exact; read: matches its second pronunciation; dog: one substitution + one insertion.
    hyps = {"cat": ["K", "AE1", "T"], "read": ["R", "IY1", "D"], "dog": ["D", "AA1", "G", "Z"]}
    s = g2p_scores(hyps, refs)
    assert s["per"] == pytest.approx(100 * 2 / 9)
    assert s["wer"] == pytest.approx(100 / 3)
    # Closest reference: R EH1 → 1 deletion against R EH1 D (its 3 phones), not 2 against R IY1 D.
    s = g2p_scores({"read": ["R", "EH1"]}, refs)
    assert s["per"] == pytest.approx(100 / 3) and s["wer"] == 100


def test_sequence_batches_pad_and_mark_targets():
    pairs = [([4, 5, 6], [7]), ([4], [7, 8, 9]), ([5, 5], [8, 8])]
    b = SequenceBatches(pairs, batch_size=3, sos=SOS_ID, eos=EOS_ID, shuffle=False)
    src, lens, tin, tout = next(b.epoch(torch.Generator()))
    order = lens.tolist()
    assert sorted(order) == [1, 2, 3] and src.shape == (3, 3)
    j = order.index(1)
    assert src[j].tolist() == [4, 0, 0]
    assert tin[j].tolist() == [SOS_ID, 7, 8, 9] and tout[j].tolist() == [7, 8, 9, EOS_ID]
    k = order.index(3)
    assert tin[k].tolist() == [SOS_ID, 7, 0, 0] and tout[k].tolist() == [7, EOS_ID, 0, 0]


def test_loss_falls_on_a_few_hundred_words(g2p_exp):
    log = read_log(g2p_exp / "log.csv")
    n = len(log["loss"])
    assert n == 4 * (400 // 32 + 1)
    first, last = sum(log["loss"][:5]) / 5, sum(log["loss"][-5:]) / 5
    assert last < 0.8 * first, (first, last)
    m = json.loads((g2p_exp / "metrics.json").read_text())
    assert [e["epoch"] for e in m["epochs"]] == [1, 2, 3, 4]
    assert (g2p_exp / "checkpoints" / "best.pt").is_file()
    for s in ("train", "dev", "test"):
        assert (g2p_exp / "data" / f"{s}.tsv").stat().st_size > 0


def test_batched_greedy_equals_one_by_one_and_beam_one(g2p_exp):
    tr = load_translator(g2p_exp, "cpu")
    words = ["speech", "synthesis", "a", "variance", "wasserstein", "critic", "mel", "cepstrum"]
    srcs = [tr.encode(w)[0] for w in words]
    batched = [h[0].ids for h in tr.decode_ids(srcs, beam=1, max_len=30)]
    for w, s, ids in zip(words, srcs, batched):
        src = torch.tensor([s])
        alone = greedy_decode(tr.task.model, src, torch.tensor([len(s)]), 30, SOS_ID, EOS_ID)[0]
        beam1 = beam_search(tr.task.model, src, torch.tensor([len(s)]), 1, 30, SOS_ID, EOS_ID)[0]
        assert alone.ids == ids == beam1.ids, w
        assert beam1.score == pytest.approx(alone.score, abs=1e-4)
        five = beam_search(tr.task.model, src, torch.tensor([len(s)]), 5, 30, SOS_ID, EOS_ID, n_best=3)
        assert len(five) == 3 and five[0].score >= five[1].score >= five[2].score
        assert five[0].score >= alone.score - 1e-6  # the beam finds at least the greedy path's score


def test_translate_cli_outputs_and_bad_inputs(g2p_exp):
    r = invoke("translate", "speech synthesis", "-m", g2p_exp)
    assert r.exit_code == 0 and r.stdout.count("|") == 1 and r.stdout.strip()
    r = invoke("translate", "   ", "-m", g2p_exp)
    assert r.exit_code == 2 and "empty input" in r.output
    r = invoke("translate", "x" * 500, "-m", g2p_exp)
    assert r.exit_code == 2 and "longer than" in r.output
    r = invoke("translate", "naïve", "-m", g2p_exp)
    assert r.exit_code == 0 and "<unk>" in r.output and "ï" in r.output
    r = invoke("translate", "-m", g2p_exp, "--beam", "3", "--n-best", "2", input="speech\n\nmel\x07 cepstrum\n")
    lines = r.stdout.splitlines()
    assert r.exit_code == 1 and len(lines) == 3 and lines[1] == ""  # one line out per line in
    assert len(lines[0].split("\t")) == 2 and "line 2: empty input" in r.output
    r = invoke("translate", "word", "-m", g2p_exp.parent / "nothing")
    assert r.exit_code == 2 and "no seq2seq checkpoint" in r.output


def test_eval_cli_writes_scores_and_attention_maps(g2p_exp):
    r = invoke("seq2seq", "eval", "-m", g2p_exp, "--limit", "40", "--beam", "2")
    assert r.exit_code == 0, r.output
    e = json.loads((g2p_exp / "eval.json").read_text())
    assert e["words"] == 40 and 0 <= e["per"] <= 100 and 0 <= e["wer"] <= 100 and e["beam"] == 2
    assert len(list((g2p_exp / "attention").glob("test_*.png"))) == 4


def test_pairs_task_dry_run_and_bleu(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{a}\t{b}\n" for a, b in parse_edict_sample()))
    r = invoke("seq2seq", "train", "--task", "pairs", "--pairs", tsv, "-o", tmp_path / "x", "--dry-run")
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one column\n")
    r = invoke("seq2seq", "train", "--task", "pairs", "--pairs", bad, "-o", tmp_path / "y")
    assert r.exit_code == 2 and "line 1" in r.output


def parse_edict_sample():
    from pathlib import Path

    return parse_edict(Path(__file__).resolve().parents[1] / REPO_EDICT)[:3000]
