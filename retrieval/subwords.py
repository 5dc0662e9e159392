"""Pieces of words, as BM25 terms of their own, for languages where a query and a passage cut the
same words differently: German, Dutch, the Scandinavian languages and Finnish glue nouns into
compounds ("Passwortverfall" in a query, "Passwort" and "verfällt" in the page), and Chinese and
Japanese are written without spaces, so the tokenizer may segment a query's run of characters
otherwise than the passage's.

Each word of MIN_WORD or more letters in a compounding language adds its character N-grams, each
run of Chinese, Japanese or Korean characters its character bigrams. Pieces are marked (MARK) so
they never match a word, and a query weighs each piece at PIECE_WEIGHT against a word's 1: whole
words still decide the ranking, pieces break ties and find what the words miss.

Chosen on translated man pages (German's train half, then Dutch, Swedish, Danish and Finnish as
corpora held out from the choice: BM25 nDCG@10 +0.03 to +0.07 on each; bench/RESULTS.md, Languages).
Other languages, English among them, get no pieces: their words are read exactly as before."""

from __future__ import annotations

import re

COMPOUNDING = frozenset({"de", "nl", "sv", "da", "no", "nb", "nn", "fi", "is"})
UNSPACED = frozenset({"zh", "ja", "ko"})
N = 4  # characters per piece of a compound: about a syllable and a half, the size of its parts' stems
MIN_WORD = 6  # shorter words are rarely compounds, and their pieces would match everything
PIECE_WEIGHT = 0.3  # a query piece's weight; a whole word weighs 1
MARK = "zq"  # prefixes every piece: no word in these languages starts with it, and the word tokenizer keeps it whole

_WORD = re.compile(r"\w+")
_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


def pieces(text: str, langs: set[str] | frozenset[str]) -> list[str]:
    """The marked pieces of `text` read as any of `langs` (ISO 639-1 codes); [] for other languages."""
    out: list[str] = []
    if langs & COMPOUNDING:
        for w in _WORD.findall(text.lower()):
            if len(w) >= MIN_WORD and w.isalpha() and not _RUN.search(w):
                out += [w[i : i + N] for i in range(len(w) - N + 1)]
    if langs & UNSPACED:
        for run in _RUN.findall(text):
            out += [run[i : i + 2] for i in range(len(run) - 1)]
    return [MARK + p for p in out]
