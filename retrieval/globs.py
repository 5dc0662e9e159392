"""Path globs with `**` (any number of directories), used by include/exclude, authority rules and filters.

Globs come from callers (search filters), so matching must stay linear in the path whatever the
pattern: a glob is compiled to a small automaton (a Thompson NFA, simulated as a lazily built DFA)
instead of a backtracking regex, where `"**/" * 40 + "x"` took exponential time."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ragate.retrieval.errors import GlobError

MAX_GLOB_CHARS = 1024  # room for the '**/' a slash-less pattern gets
MAX_GLOB_WILDCARDS = 64
# Cached DFA transitions per compiled glob; past this, steps are computed without caching, so a
# hostile pattern costs time linear in the path but no unbounded memory.
_MAX_TRANSITIONS = 20_000

_NONE, _NONSLASH, _ANY = 0, 1, 2


@dataclass
class _State:
    loop: int = _NONE  # a self-loop consuming a character: none, any but '/', or any
    step: str | int | None = None  # what advances to the next state: a literal character, or _NONSLASH
    eps: tuple[int, ...] = ()  # states reachable without consuming


def _tokens(pattern: str) -> list[str]:
    """'**/', '**', '*', '?' or one literal character each; runs of '**/' collapse to one."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            tok, i = "**/", i + 3
        elif pattern.startswith("**", i):
            tok, i = "**", i + 2
        else:
            tok, i = pattern[i], i + 1
        if tok == "**/" and out and out[-1] == "**/":
            continue  # (?:.*/)?(?:.*/)? matches exactly what (?:.*/)? matches
        out.append(tok)
    return out


def _nfa(tokens: list[str]) -> list[_State]:
    states: list[_State] = []
    for tok in tokens:
        i = len(states)
        if tok == "**/":  # empty, or anything ending in '/': skip both states, or loop then take '/'
            states.append(_State(eps=(i + 1, i + 2)))
            states.append(_State(loop=_ANY, step="/"))
        elif tok == "**":
            states.append(_State(loop=_ANY, eps=(i + 1,)))
        elif tok == "*":
            states.append(_State(loop=_NONSLASH, eps=(i + 1,)))
        elif tok == "?":
            states.append(_State(step=_NONSLASH))
        else:
            states.append(_State(step=tok))
    states.append(_State())  # accepting
    return states


def _takes(kind: str | int | None, c: str) -> bool:
    return kind == _ANY or (kind == _NONSLASH and c != "/") or kind == c


@dataclass
class Glob:
    """A compiled glob: `match` runs in time linear in the path."""

    pattern: str
    _states: list[_State] = field(init=False, repr=False)
    _dfa: dict[frozenset[int], dict[str, frozenset[int]]] = field(init=False, repr=False, default_factory=dict)
    _cached: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        if len(self.pattern) > MAX_GLOB_CHARS:
            raise GlobError(f"glob is {len(self.pattern)} characters, over the limit of {MAX_GLOB_CHARS}")
        tokens = _tokens(self.pattern)
        wild = sum(t in ("**/", "**", "*", "?") for t in tokens)
        if wild > MAX_GLOB_WILDCARDS:
            raise GlobError(f"glob has {wild} wildcards, over the limit of {MAX_GLOB_WILDCARDS}")
        self._states = _nfa(tokens)
        self._start = self._closure({0})

    def _closure(self, states: set[int]) -> frozenset[int]:
        todo, seen = list(states), set(states)
        while todo:
            for j in self._states[todo.pop()].eps:
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return frozenset(seen)

    def _next(self, current: frozenset[int], c: str) -> frozenset[int]:
        row = self._dfa.setdefault(current, {})
        hit = row.get(c)
        if hit is not None:
            return hit
        nxt: set[int] = set()
        for i in current:
            s = self._states[i]
            if _takes(s.loop, c):
                nxt.add(i)
            if _takes(s.step, c):
                nxt.add(i + 1)
        out = self._closure(nxt)
        if self._cached < _MAX_TRANSITIONS:
            row[c] = out
            self._cached += 1
        return out

    def match(self, path: str) -> bool:
        accept = len(self._states) - 1
        current = self._start
        for c in path:
            current = self._next(current, c)
            if not current:
                return False
        return accept in current


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> Glob:
    """The compiled glob; GlobError when it is over the complexity limits."""
    return Glob(pattern)


def glob_match(path: str, pattern: str) -> bool:
    """True if the POSIX path matches the pattern; a pattern without a slash matches the file name anywhere."""
    if "/" not in pattern:
        pattern = "**/" + pattern
    g = compile_glob(pattern)
    return g.match(path) or g.match(path.lstrip("/"))
