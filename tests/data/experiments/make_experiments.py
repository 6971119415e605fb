"""Made the experiment folders beside it with the code of commit 84ee477 (before issue 26's
restructuring), so tests/test_old_experiments.py can check that experiments of every speech kind
written then still open through the commands and give what they gave then. Tiny models, real data:
the 16 kHz flite slt / Allison features of five prompts (recipes/flite2allison_16k/dump) and four 8 kHz
Allison prompts. Usage (at that commit, data prepared): python make_experiments.py OUT"""
import dataclasses, shutil, sys
from pathlib import Path
import numpy as np, torch
from vawgan_tts.extract import ExtractConfig, run as extract
from vawgan_tts.features import load_features
from vawgan_tts.trainer import TrainerConfig
from vawgan_tts.tasks.vawgan import VAWGANConfig
from vawgan_tts.tasks.vawgan_postfilter import VAWGANPostfilterConfig
from vawgan_tts.tasks.vawgan_vc import VAWGANVCConfig
from vawgan_tts.tasks.dnn_converter import DNNConverterConfig
from vawgan_tts.tasks.adversarial_converter import AdversarialConverterConfig
from vawgan_tts.runs.vawgan import DataConfig, ExperimentConfig, train_vawgan
from vawgan_tts.runs.converter import ConverterConfig, ParallelDataConfig, Converter, train_converter, train_adversarial
from vawgan_tts.runs.pair_postfilter import PairDataConfig, PairPostfilterConfig, PairPostfilter, train_pair_postfilter, train_adversarial_weight
from vawgan_tts.runs.vawgan_vc import SpeakersDataConfig, VCExperimentConfig, SpeakerConverter, train_vawgan_vc
from vawgan_tts.enhance import make_system

REPO = Path(__file__).resolve().parents[3]
out = Path(sys.argv[1]); work = Path("/tmp/old_experiments_work")
shutil.rmtree(work, ignore_errors=True); shutil.rmtree(out, ignore_errors=True)
PROMPTS = ("agent-pass", "auth-thankyou", "conf-getpin", "vm-goodbye", "vm-password")
TRAIN, DEV, TEST = PROMPTS[:4], PROMPTS[4:], "digits_6"
for side in ("slt", "natural"):
    (work / side).mkdir(parents=True)
    for u in PROMPTS + (TEST,):
        shutil.copy(REPO / "recipes/flite2allison_16k/dump" / side / f"{u}.npz", work / side)
    shutil.copy(REPO / "recipes/flite2allison_16k/dump" / side / "extract.toml", work / side)
allison = REPO / "recipes/allison_8k/downloads/root/usr/share/asterisk/sounds/en_US_f_Allison"
extract([allison / f"{n}.wav" for n in ("activated", "vm-goodbye", "conf-onlyperson", "vm-and")], work / "feats8k",
        ExtractConfig(f0_method="dio"), jobs=1)
train = TrainerConfig(batch_size=128, seed=0, device="cpu")
inputs = out / "inputs"
for side in ("slt", "natural"):
    (inputs / side).mkdir(parents=True)
    shutil.copy(work / side / f"{TEST}.npz", inputs / side)
(inputs / "feats8k").mkdir()
shutil.copy(work / "feats8k" / "vm-and.npz", inputs / "feats8k")
expected = {}

def keep(name, exp, files):
    for f in files:
        for p in (exp.glob(f) if "*" in f else [exp / f]):
            dst = out / name / p.relative_to(exp)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dst)

# the enhancement VAWGAN (`vawgan train`; `vawgan synth --system vae|vawgan`)
cfg = ExperimentConfig(train=dataclasses.replace(train, batch_size=64),
                       vawgan=VAWGANConfig(latent=4, hidden=(16, 8), critic_hidden=(8,), vae_epochs=2, critic_epochs=1, adv_epochs=1),
                       data=DataConfig(feats=str(work / "feats8k"), ids=("activated", "conf-onlyperson"), dev_ids=("vm-goodbye",)))
train_vawgan(work / "vawgan", cfg, progress=False)
keep("vawgan", work / "vawgan", ["config.toml", "stats.npz", "checkpoints/vae.pt", "checkpoints/adv.pt", "checkpoints/vae_best.pt"])
f = load_features(work / "feats8k" / "vm-and.npz")
for s in ("vae", "vawgan"):
    expected[f"vawgan/{s}"] = make_system(s, work / "vawgan")(f).mcep

# the parallel converter (`vawgan train-converter`, --adversarial; `vawgan convert`)
cc = ConverterConfig(train=train, dnn=DNNConverterConfig(hidden=16, layers=1, epochs=2, rounds=2),
                     data=ParallelDataConfig(source=str(work / "slt"), target=str(work / "natural"), ids=TRAIN, dev_ids=DEV),
                     adv=AdversarialConverterConfig(adv_weight=0.5, critic_hidden=(8,), critic_epochs=1, adv_epochs=1))
train_converter(work / "converter", cc, progress=False)
train_adversarial(work / "converter", cc.adv, train, progress=False)
f = load_features(work / "slt" / f"{TEST}.npz")
expected["converter/dnn"] = Converter(work / "converter")(f).mcep
expected["converter/adv"] = Converter(work / "converter", adversarial=0.5)(f).mcep
keep("converter", work / "converter", ["config.toml", "f0.npz", "rounds.json", "round2/stats.npz", "round2/checkpoints/dnn_best.pt",
                                       "adv-w0.5/config.toml", "adv-w0.5/stats.npz",
                                       "adv-w0.5/checkpoints/adv.pt"])

# the pair post-filter, frame and conv (`vawgan train-postfilter`, --sweep; `vawgan enhance`)
for arch, pf in (("frame", VAWGANPostfilterConfig(latent=4, hidden=(16,), critic_hidden=(8,), vae_epochs=2, critic_epochs=1, adv_epochs=1)),
                 ("conv", VAWGANPostfilterConfig(latent=4, arch="conv", channels=(8, 8), dilations=(1, 2), critic_channels=(4, 4, 4),
                                                 segment=32, segments_per_batch=4, vae_epochs=1, critic_epochs=1, adv_epochs=1))):
    name = f"postfilter_{arch}"
    pc = PairPostfilterConfig(train=train, postfilter=pf,
                              data=PairDataConfig(system=str(work / "slt"), natural=str(work / "natural"), ids=TRAIN, dev_ids=DEV))
    train_pair_postfilter(work / name, pc, progress=False)
    methods = ("vawgan", "vae", "gv-pf", "ms-pf") if arch == "frame" else ("vawgan", "vae")
    for m in methods:
        expected[f"{name}/{m}"] = PairPostfilter(work / name, m)(f).mcep
    if arch == "frame":
        train_adversarial_weight(work / name, 0.5, progress=False)
        expected[f"{name}/vawgan-w0.5"] = PairPostfilter(work / name, "vawgan", adv_weight=0.5)(f).mcep
    keep(name, work / name, ["config.toml", "stats.npz", *(["postfilter_stats.npz"] if arch == "frame" else []), "checkpoints/vae.pt", "checkpoints/adv.pt",
                             "checkpoints/vae_best.pt"] + (["adv-w0.5/config.toml", "adv-w0.5/checkpoints/adv.pt"] if arch == "frame" else []))

# VAWGAN-VC (`vawgan train-vc`; `vawgan convert --to`)
vc = VCExperimentConfig(train=dataclasses.replace(train, batch_size=64),
                        vc=VAWGANVCConfig(speakers=("slt", "natural"), latent=4, embed_dim=4, hidden=(16,), critic_hidden=(8,),
                                          vae_epochs=2, critic_epochs=1, adv_epochs=1),
                        data=SpeakersDataConfig(feats=(str(work / "slt"), str(work / "natural")), ids=TRAIN, dev_ids=DEV))
train_vawgan_vc(work / "vc", vc, progress=False)
for stage in ("vae", "adv"):
    expected[f"vc/{stage}"] = SpeakerConverter(work / "vc", "natural", "slt", stage=stage)(f).mcep
keep("vc", work / "vc", ["config.toml", "stats.npz", "shares.json", "checkpoints/vae.pt", "checkpoints/adv.pt"])

np.savez_compressed(out / "expected.npz", **{k.replace("/", "__"): v for k, v in expected.items()})
print(sorted(expected), sum(p.stat().st_size for p in out.rglob("*") if p.is_file()))
