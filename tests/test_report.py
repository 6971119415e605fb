"""The shareable report: paths a browser resolves (odd ids), the played-utterance spread, provenance."""

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import pytest

from vawgan_tts import extract as X
from vawgan_tts.errors import VawganError
from vawgan_tts.extract import ExtractConfig
from vawgan_tts.report import spread, url, write_report

ODD = "take #1 of 100% done"


class _Sources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.src = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("src"):
            self.src.append(a["src"])


def _browser_path(page: Path, src: str) -> Path:
    """The file a browser opens for ``src`` on a page loaded from disk: join, drop the fragment, unquote."""
    joined = urlparse(urljoin(page.resolve().as_uri(), src))
    assert not joined.fragment and not joined.query, src  # a raw '#' or '?' would cut the path
    return Path(url2pathname(joined.path))


def test_url_encodes_every_character_a_browser_would_read_as_syntax():
    assert url("audio", "my system", "a#b%c d?.wav") == "audio/my%20system/a%23b%25c%20d%3F.wav"


def test_spread_takes_best_median_and_worst():
    scores = {"a": 3.0, "b": 1.0, "c": 5.0, "d": 2.0, "e": 4.0}
    assert spread(scores, 3) == ["b", "a", "c"]
    assert spread(scores, 1) == ["a"]
    assert spread(scores, 9) == ["b", "d", "a", "e", "c"]
    assert spread(scores, 0) == []


def test_an_id_with_hash_percent_and_space_plays(allison_few, tmp_path):
    # Natural features of one prompt saved under an odd id, a "system" that is the same features.
    wavs = tmp_path / "odd"
    wavs.mkdir()
    prompts = sorted(allison_few.rglob("*.wav"))
    shutil.copy(prompts[0], wavs / f"{ODD}.wav")
    shutil.copy(prompts[1], wavs / "plain.wav")
    natural = tmp_path / "natural"
    X.run([wavs], natural, ExtractConfig(f0_method="dio"), jobs=1)
    # extract names its files with safe ids; a feature folder written by another tool may not.
    (natural / "take_1_of_100_done.npz").rename(natural / f"{ODD}.npz")
    sources = {u: wavs / f"{u}.wav" for u in (ODD, "plain")}
    out = tmp_path / "report"
    result = write_report(tmp_path, out, [ODD, "plain"], natural, {"same #sys": natural},
                          [("natural", "natural", sources), ("same #sys", "same #sys", sources)],
                          show=[ODD], n_resamples=200)
    assert result["systems"]["same #sys"]["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    page = out / "index.html"
    parser = _Sources()
    parser.feed(page.read_text())
    audio = [s for s in parser.src if s.endswith(".wav")]
    assert len(audio) == 2
    for src in parser.src:
        assert _browser_path(page, src).is_file(), src
    assert {_browser_path(page, s).name for s in audio} == {f"{ODD}.wav"}
    # Provenance: version and date are on the page and in metrics.json.
    prov = json.loads((out / "metrics.json").read_text())["provenance"]
    assert prov["version"] and prov["date"].startswith("20") and prov["version"] in page.read_text()
    with pytest.raises(VawganError, match="--show 'gone'"):
        write_report(tmp_path, tmp_path / "r2", [ODD], natural, {"s": natural}, [], show=["gone"], n_resamples=200)
