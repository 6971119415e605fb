import dataclasses

import pytest

from vawgan_tts.config import ExtractConfig, from_dict, load_section, load_toml, save_toml
from vawgan_tts.errors import VawganError


def test_round_trip_through_toml(tmp_path):
    cfg = ExtractConfig(fs=16000, f0_method="dio", f0_floor=60.0)
    save_toml(tmp_path / "c.toml", {"extract": cfg})
    assert load_section(tmp_path / "c.toml", "extract", ExtractConfig) == cfg


def test_overrides_beat_the_file_and_none_is_no_override(tmp_path):
    (tmp_path / "c.toml").write_text('[extract]\nf0_method = "dio"\nf0_ceil = 500\n')
    cfg = load_section(tmp_path / "c.toml", "extract", ExtractConfig, f0_method="harvest", fs=None)
    assert cfg.f0_method == "harvest" and cfg.f0_ceil == 500.0 and cfg.fs is None


def test_errors_name_the_file_and_key(tmp_path):
    with pytest.raises(VawganError, match="unknown key.*f0_flor"):
        from_dict(ExtractConfig, {"f0_flor": 50}, "x.toml")
    with pytest.raises(VawganError, match="f0_floor = 'low'"):
        from_dict(ExtractConfig, {"f0_floor": "low"}, "x.toml")
    with pytest.raises(VawganError, match="f0_method"):
        from_dict(ExtractConfig, {"f0_method": "yin"}, "x.toml")
    (tmp_path / "bad.toml").write_text("[extract\n")
    with pytest.raises(VawganError, match="bad.toml: not valid TOML"):
        load_toml(tmp_path / "bad.toml")
    assert dataclasses.is_dataclass(ExtractConfig())
