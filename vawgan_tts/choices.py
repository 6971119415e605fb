"""The named choices users pick from, in one torch-free place (the CLI imports it at start-up)."""

F0_METHODS = ("harvest", "dio")
F0_FLOOR_HZ, F0_CEIL_HZ = 71.0, 800.0  # the F0 search range by default (WORLD's)
VAWGAN_STAGES = ("vae", "critic", "adv")
VC_MODELS = ("vae", "adv")  # the VAWGAN-VC stage a conversion uses (`--stage`): VAE-VC, VAWGAN-VC
CRITICS = ("gp", "clip")
ADV_BALANCE = ("ratio", "fixed")  # how VAWGAN weighs the critic's term beside the likelihood
SYSTEMS = ("copy", "vae", "vawgan", "gv-pf", "ms-pf")
CHECKPOINTS = ("last", "best")  # a stage's checkpoint at its end, or at its best dev epoch
# VAWGAN-VC's code at conversion: μ of the source frame as it is, or moved by the two speakers' code statistics
CODE_MOVES = ("as-is", "shift", "standardize")
ALIGNMENTS = ("auto", "dtw")  # how `vawgan eval` pairs frames: identity when lengths agree, or always DTW
CONVERTER_POSTFILTERS = ("gv", "ms")  # `vawgan convert --postfilter`: on the converter's output, with its own statistics
# `vawgan enhance --method`: what is applied to a system's output (docs/cli.md)
ENHANCE_METHODS = ("vawgan", "vae", "gv-pf", "ms-pf")
PAIR_POSTFILTER_METHODS = ENHANCE_METHODS
# A pair post-filter's model: MLPs over a frame and a frame critic, or convolutions over time and a
# segment critic; and what latent its conv decoder gets when applied (`vawgan enhance --z`)
ARCHS = ("frame", "conv")  # a VAWGAN's models: over single frames | convolutions over time (models/conv_vae.py)
INFERENCE_Z = ("mean", "prior", "posterior")
CRITIC_REAL = ("recordings", "aligned")  # what a conv post-filter's critic takes as natural
# how the knot spread filter extends a trajectory past its ends: at its mean, or mirrored (no step there)
SPREAD_EDGES = ("zero", "mirror")
LISTENING_TESTS = ("mushra", "ab")  # `vawgan listening-test --kind`: MUSHRA ratings or AB preference
# gen: the image sets and architectures, the toy WGAN's learning-rate decay, the seq2seq tasks and
# the tokenizers a pairs task may use on each side (g2p uses letters and ARPAbet phones)
IMAGE_DATASETS = ("fashion-mnist", "mnist", "digits")
IMAGE_ARCHS = ("mlp", "conv")
LR_DECAYS = ("none", "linear")
SEQ2SEQ_TASKS = ("g2p", "pairs")
SOURCE_TOKENIZERS = ("char", "word", "ja")
TARGET_TOKENIZERS = ("char", "word")
SPLITS = ("train", "dev", "test")
