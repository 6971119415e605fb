"""vawgan-tts: restore the global variance and modulation spectrum of over-smoothed speech features.

Public API, imported lazily: torch is not loaded by feature extraction, and the speech stack
(pyworld, pysptk) not by the image, toy and seq2seq models.
"""

import importlib

from .errors import VawganError

# Name -> module of the public API, imported on first use (PEP 562): `import vawgan_tts.config` or
# the image and seq2seq tasks must not load the speech stack (pyworld, pysptk, pkg_resources).
_LAZY = {
    "ExtractConfig": "extract", "collect_inputs": "extract", "extract_file": "extract",
    "FRAME_PERIOD_MS": "features", "MCEP_ORDER": "features", "Features": "features", "FeatureStats": "features",
    "analyze": "features", "load_features": "features", "save_features": "features",
    "synthesize": "synthesis", "metrics": None,
}

__all__ = ["VawganError", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'vawgan_tts' has no attribute {name!r}")
    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value


try:  # one version source: pyproject.toml, read from the installed distribution's metadata
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("vawgan-tts")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
