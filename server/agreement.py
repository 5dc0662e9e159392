"""What every client of one index service must agree on: the settings that change what a call
returns or what may be read (all but those marked per client in server/config.py), their
fingerprint, and each difference named by its key."""

from __future__ import annotations

import hashlib
import json
import os
import typing

from ragate.server.config import PER_CLIENT, Settings

# Local paths are compared where they lead: clients in other folders may name one model differently.
PATH_KEYS = ("embedder.model", "reranker.model", "reranker.first_pass_model", "reranker.onnx_dir")


def shared_settings(settings: Settings, *, unchecked: tuple[str, ...] = ()) -> dict[str, typing.Any]:
    """The settings every client of one index service must agree on, as {"section.key": value}:
    everything that changes what a call returns or what may be read. A client that does not rely on
    some of them (`unchecked`, prefixes like "reranker.") leaves them out, and they are not compared."""
    out: dict[str, typing.Any] = {}
    for section, values in settings.model_dump(mode="json").items():
        model = getattr(settings, section)
        if model.per_client:
            continue
        fields = type(model).model_fields
        for key, value in values.items():
            name = f"{section}.{key}"
            if PER_CLIENT in fields[key].metadata or any(name.startswith(p) for p in unchecked):
                continue
            if name in PATH_KEYS and isinstance(value, str) and value and os.path.exists(os.path.expanduser(value)):
                value = os.path.realpath(os.path.expanduser(value))
            out[name] = value
    return out


def settings_fingerprint(shared: dict[str, typing.Any]) -> str:
    return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()[:16]


def settings_differences(ours: dict[str, typing.Any], theirs: dict[str, typing.Any]) -> list[str]:
    """Each key on which two clients disagree, as `[section] key is X there and Y here`."""
    out = []
    for name in sorted(set(ours) | set(theirs)):
        if ours.get(name) != theirs.get(name):
            section, key = name.split(".", 1)
            out.append(f"[{section}] {key} is {json.dumps(ours.get(name))[:120]} there and {json.dumps(theirs.get(name))[:120]} here")
    return out
