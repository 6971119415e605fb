"""vawgan-tts: restore the global variance and modulation spectrum of over-smoothed speech features.

Public API. Torch-dependent parts are imported lazily so feature extraction stays light.
"""

from .errors import VawganError
from .extract import ExtractConfig, collect_inputs, extract_file
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
try:  # one version source: pyproject.toml, read from the installed distribution's metadata
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("vawgan-tts")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
