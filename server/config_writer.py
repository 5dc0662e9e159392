"""Writing one setting into a config file, its comments and other keys kept (the commands that fit
or train a value write it there: `calibrate --write-config`, `tune --activate`)."""

from __future__ import annotations

import json
import re
from pathlib import Path


def write_setting(config_path: Path, section: str, key: str, value: str | float) -> None:
    """Set `[section] key` in a config file (created if missing), keeping its comments and other
    keys: the commands that fit or train a value (`calibrate --write-config`, `tune --activate`)
    write it here. Strings are written quoted, numbers with four decimals."""
    line = f"{key} = {json.dumps(value) if isinstance(value, str) else f'{value:.4f}'}"
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
        text = text[: found.end(0)] + line + "\n" + text[found.end(0) :]
    config_path.write_text(text, encoding="utf-8")
