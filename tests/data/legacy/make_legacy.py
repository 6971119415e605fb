"""Made the checkpoints beside it with the code before the `runs/` restructuring (commit a101881, whose
modules this imports: vawgan_tts.experiment, vawgan_tts.gen.toy), so tests/test_legacy_checkpoints.py can
check that checkpoints written then still load. Usage (at that commit): python make_legacy.py OUT"""
import json, shutil, sys
from pathlib import Path
import numpy as np, torch
from vawgan_tts.experiment import DataConfig, ExperimentConfig, load_trained, train_vawgan
from vawgan_tts.tasks.vawgan import VAWGANConfig
from vawgan_tts.trainer import TrainerConfig
from vawgan_tts.extract import run as extract
from vawgan_tts.config import ExtractConfig
from vawgan_tts.features import load_features
from vawgan_tts.data.frames import normalize, denormalize

out = Path(sys.argv[1]); work = Path("/tmp/legacy_work")
shutil.rmtree(work, ignore_errors=True); shutil.rmtree(out, ignore_errors=True)
allison = Path("/work/main/recipes/allison_8k/downloads/root/usr/share/asterisk/sounds/en_US_f_Allison")
extract([allison / f"{n}.wav" for n in ("activated", "vm-goodbye", "conf-onlyperson")], work / "feats", ExtractConfig(f0_method="dio"), jobs=1)
cfg = ExperimentConfig(train=TrainerConfig(batch_size=64, seed=0, device="cpu"),
                       vawgan=VAWGANConfig(latent=4, hidden=(16, 8), critic_hidden=(8,), vae_epochs=2, critic_epochs=1, adv_epochs=1),
                       data=DataConfig(feats=str(work / "feats"), ids=("activated", "conf-onlyperson"), dev_ids=("vm-goodbye",)))
train_vawgan(work / "exp", cfg, progress=False)
(out / "vawgan" / "checkpoints").mkdir(parents=True)
for f in ("vae.pt", "adv.pt", "vae_best.pt"):
    shutil.copy(work / "exp" / "checkpoints" / f, out / "vawgan" / "checkpoints" / f)
f = load_features(work / "feats" / "vm-goodbye.npz")
c = f.mcep[:40, 1:]
expected = {}
for stage in ("vae", "adv"):
    task, stats, _ = load_trained(work / "exp", stage)
    with torch.no_grad():
        expected[stage] = denormalize(task.vae.reconstruct(torch.from_numpy(normalize(c, stats))).numpy(), stats)
np.savez(out / "vawgan" / "expected.npz", input=c, **expected)
# the toy WGAN (linear learning-rate decay: the rates it stopped at are in the optimizer state)
from vawgan_tts.gen.toy import ToyDataConfig, ToyRun, train_toy
from vawgan_tts.tasks.toy_wgan import ToyWGANConfig
run = ToyRun(train=TrainerConfig(batch_size=256, seed=0, device="cpu"),
             toy=ToyWGANConfig(epochs=2, hidden=(16,), generator_hidden=(16,), n_critic=1), data=ToyDataConfig(n_per_mode=40, snapshot_every=2, n_eval=100))
train_toy(work / "toy", run, progress=False)
(out / "toy" / "checkpoints").mkdir(parents=True)
shutil.copy(work / "toy" / "checkpoints" / "wgan.pt", out / "toy" / "checkpoints" / "wgan.pt")
shutil.copy(work / "toy" / "config.toml", out / "toy" / "config.toml")
ck = torch.load(work / "toy" / "checkpoints" / "wgan.pt", weights_only=True)
print({k: [g["lr"] for g in v["param_groups"]] for k, v in ck["optim"].items()})
print(sorted(p.name for p in out.rglob("*")), sum(p.stat().st_size for p in out.rglob("*") if p.is_file()))
