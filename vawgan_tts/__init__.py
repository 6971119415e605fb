"""vawgan-tts: restore the global variance and modulation spectrum of over-smoothed speech features.

Public API. Torch-dependent parts are imported lazily so feature extraction stays light.
"""

from .errors import VawganError
from .config import ExtractConfig
from .extract import collect_inputs, extract_file
from .features import (
    FRAME_PERIOD_MS,
    MCEP_ORDER,
    Features,
    FeatureStats,
    analyze,
    load_features,
    save_features,
)
from .synthesis import synthesize
from . import metrics

__all__ = [
    "VawganError", "ExtractConfig", "collect_inputs", "extract_file", "FRAME_PERIOD_MS",
    "MCEP_ORDER", "Features", "FeatureStats", "analyze", "load_features", "save_features",
    "synthesize", "metrics",
]
__version__ = "0.1.0"
