"""EDICT expressions → data/pairs.tsv (Japanese<TAB>first English gloss), duplicates removed.
Usage: python local/make_pairs.py EDICT_FILE OUT.tsv"""

import sys
from pathlib import Path

from vawgan_tts.data.text import clean_text, parse_edict
from vawgan_tts.fileio import write_text_atomic


def main(edict: str, out: str) -> None:
    seen, lines = set(), []
    for ja, en in parse_edict(edict):
        ja, en = clean_text(ja), clean_text(en)
        if (ja, en) not in seen and ja and en:
            seen.add((ja, en))
            lines.append(f"{ja}\t{en}\n")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, "".join(lines))
    print(f"{len(lines)} expression pairs → {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
