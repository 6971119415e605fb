import dataclasses

import pytest

from vawgan_tts.config import from_dict, load_section, load_toml, save_toml
from vawgan_tts.extract import ExtractConfig
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


def test_a_typo_names_the_toml_table_and_the_type_is_in_words(tmp_path):
    with pytest.raises(VawganError, match=r"unknown key\(s\) in \[extract\]: f0_flor") as e:
        from_dict(ExtractConfig, {"f0_flor": 50}, "x.toml")
    assert "ExtractConfig" not in str(e.value)
    from vawgan_tts.tasks.vawgan import VAWGANConfig

    with pytest.raises(VawganError, match=r"vawgan.n_critic = 1.5 is not an integer"):
        from_dict(VAWGANConfig, {"n_critic": 1.5}, "x.toml")


@pytest.mark.parametrize("table,key,value,rule", [
    ("vawgan", "n_critic", 0, "≥ 1"),
    ("vawgan", "lr", 0.0, "> 0"),
    ("vawgan", "adv_epochs", -1, "≥ 0"),
    ("vawgan", "hidden", [256, 0], "≥ 1"),
    ("vawgan", "critic_betas", [0.5, 1.5], "0 to 1"),
    ("train", "batch_size", 0, "≥ 1"),
    ("train", "grad_clip", -0.5, "≥ 0"),
    ("extract", "f0_floor", 0.0, "> 0"),
    ("toy", "n_critic", 0, "≥ 1"),
    ("image_gan", "lr", -1e-3, "> 0"),
    ("image_vae", "latent", 0, "≥ 1"),
    ("seq2seq", "dropout", 1.5, "0 to 1"),
])
def test_numeric_settings_are_range_checked_when_read(tmp_path, table, key, value, rule):
    from vawgan_tts.tasks.image_gan import ImageGANConfig
    from vawgan_tts.tasks.image_vae import ImageVAEConfig
    from vawgan_tts.tasks.seq2seq import Seq2SeqConfig
    from vawgan_tts.tasks.toy_wgan import ToyWGANConfig
    from vawgan_tts.tasks.vawgan import VAWGANConfig
    from vawgan_tts.trainer import TrainerConfig

    cls = {"vawgan": VAWGANConfig, "train": TrainerConfig, "extract": ExtractConfig, "toy": ToyWGANConfig,
           "image_gan": ImageGANConfig, "image_vae": ImageVAEConfig, "seq2seq": Seq2SeqConfig}[table]
    with pytest.raises(VawganError) as e:
        from_dict(cls, {key: value}, tmp_path / "c.toml")
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "c.toml")) and f"[{table}] {key} = " in msg and rule in msg, msg


def test_n_critic_zero_is_one_line_from_the_cli(tmp_path):
    from typer.testing import CliRunner

    from vawgan_tts.cli.vawgan import app

    conf = tmp_path / "c.toml"
    conf.write_text("[vawgan]\nn_critic = 0\n")
    r = CliRunner().invoke(app, ["train", str(tmp_path), "-o", str(tmp_path / "exp"), "-c", str(conf)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "[vawgan] n_critic = 0: must be ≥ 1" in " ".join(r.output.split())
