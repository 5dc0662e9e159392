"""Path globs with `**` (any number of directories), used by include/exclude, authority rules and filters."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    i, out = 0, []
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def glob_match(path: str, pattern: str) -> bool:
    """True if the POSIX path matches the pattern; a pattern without a slash matches the file name anywhere."""
    if "/" not in pattern:
        pattern = "**/" + pattern
    return glob_regex(pattern).match(path) is not None or glob_regex(pattern).match(path.lstrip("/")) is not None
