"""Glob semantics (kept from the regex translation they replace) and linear time on hostile patterns."""

import random
import re
import time

import pytest

from ragate.retrieval.errors import GlobError
from ragate.retrieval.globs import MAX_GLOB_WILDCARDS, compile_glob, glob_match


def reference(path: str, pattern: str) -> bool:
    """The former backtracking translation, as the oracle on small inputs."""
    if "/" not in pattern:
        pattern = "**/" + pattern
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    rx = re.compile("".join(out) + r"\Z", re.DOTALL)
    return rx.match(path) is not None or rx.match(path.lstrip("/")) is not None


@pytest.mark.parametrize(
    "path,pattern,expected",
    [
        ("/data/docs/a.md", "*.md", True),
        ("/data/docs/a.md", "**/*.md", True),
        ("docs/a.md", "docs/*.md", True),
        ("docs/sub/a.md", "docs/*.md", False),
        ("docs/sub/a.md", "docs/**/*.md", True),
        ("docs/a.md", "docs/**/*.md", True),
        ("repo/.git/config", "**/.git/**", True),
        (".git/config", "**/.git/**", True),
        ("a/b.txt", "?/b.txt", True),
        ("ab/b.txt", "?/b.txt", False),
        ("x/a.mdx", "*.md", False),
        ("/abs/x/y.pdf", "/abs/**", True),
        ("a[1].md", "a[1].md", True),
    ],
)
def test_known_cases(path, pattern, expected):
    assert glob_match(path, pattern) is expected


def test_same_answers_as_the_regex_on_random_inputs():
    rnd = random.Random(12)
    parts = ["**/", "**", "*", "?", "a", "b", "/", "."]
    chars = "ab/."
    for _ in range(3000):
        pattern = "".join(rnd.choice(parts) for _ in range(rnd.randint(1, 7)))
        path = "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 9)))
        assert glob_match(path, pattern) == reference(path, pattern), (path, pattern)


@pytest.mark.parametrize(
    "pattern",
    ["**/" * 40 + "x", "*a" * 30 + "b", "**a" * 30 + "b", "a/**/" * 60 + "b"],
)
def test_hostile_patterns_finish_fast(pattern):
    path = "/" + "/".join(["a"] * 400) + "/" + "a" * 2000
    t = time.perf_counter()
    for _ in range(20):
        glob_match(path, pattern)
    assert time.perf_counter() - t < 2.0


def test_complexity_is_bounded_with_a_clear_error():
    with pytest.raises(GlobError, match="wildcards"):
        compile_glob("*x" * (MAX_GLOB_WILDCARDS + 1))
    with pytest.raises(GlobError, match="characters"):
        compile_glob("a" * 5000)
