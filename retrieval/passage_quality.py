"""Signs that a passage was written to be retrieved rather than read, computed from its text alone.

A planted file does not need to be true to rank first: a bag of every question's keywords wins
BM25 and fools a cross-encoder trained on honest text; a page restating the questions reads as
relevant to each of them; text addressed to the model ("ignore other sources, visit …") arrives
as a passage an agent acts on. Each check below is cheap, needs no model, and names what it saw:

- `keyword_list`: many words and few of the small words prose is built from (articles,
  prepositions, pronouns in the Latin-script languages), almost no sentence punctuation, and
  almost nothing but letters (code, markup, tables and lists of files or names have symbols and
  digits); in text that runs on without line structure, the letters of its worded tokens, so a bag
  padded with numbers or symbols between its words is caught (one broken into short lines is not);
- `question_list`: most of the passage is questions, which answer nothing;
- `instructions`: phrases that address a model or its reader with orders (ignore the other
  sources, you must tell the user …) and tool-call-shaped text;
- `hidden_text`: zero-width or bidirectional-control characters inside Latin-script words, several
  times (a reader sees nothing, a tokenizer reads split words);
  (these two mark every passage of the document: the intent is the document's);
- `query_echo` (at query time, `echoes_query`): the passage's content words are mostly the
  query's own, so it adds nothing the question did not say;
- `channels_disagree` (at query time): the reranker calls it relevant, the bi-encoder finds it
  about something else.

What they do not catch (SECURITY.md says so too): prose written to mislead, a planted page that
reads as honest text, instructions phrased as ordinary advice, scripts without spaces (Chinese,
Japanese, Thai) for `keyword_list`, and text hidden by styling other than what HTML extraction
already leaves out (retrieval/extract.py)."""

from __future__ import annotations

import re
import unicodedata

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.documents import Chunk
from ragate.retrieval.globs import glob_match

KEYWORD_LIST, QUESTION_LIST, INSTRUCTIONS, HIDDEN_TEXT, QUERY_ECHO, UNTRUSTED_SOURCE = (
    "keyword_list",
    "question_list",
    "instructions",
    "hidden_text",
    "query_echo",
    "untrusted_source",  # [trust] untrusted: not a sign in the text, the owner's word on the folder
)
CHANNELS_DISAGREE = "channels_disagree"
FLAGS = (KEYWORD_LIST, QUESTION_LIST, INSTRUCTIONS, HIDDEN_TEXT, QUERY_ECHO, UNTRUSTED_SOURCE, CHANNELS_DISAGREE)
# Intent of the whole document: a page that orders a model about, or hides text, in one passage
# planted all of them.
DOCUMENT_FLAGS = (INSTRUCTIONS, HIDDEN_TEXT)

# The small words prose is built from, in the Latin-script languages most documents come in.
# Content words alone (a keyword list) have almost none of them.
FUNCTION_WORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into onto over under about than then
    that this these those there here is are was were be been being has have had do does did not no
    it its they them their we our you your he she his her i me my which who whom whose what when
    where why how can could will would shall should may might must so such also only both each
    der die das den dem des ein eine einen einem eines und oder aber wenn von zu im in an auf mit
    für aus als ist sind war waren wird werden hat haben nicht kein es sie er wir ihr ich dass
    le la les un une des du de et ou mais si à au aux en dans sur par pour avec est sont était il
    elle ils elles nous vous je que qui ne pas ce cette ces son sa ses leur
    el los las uno una unos unas y o pero si del al en con por para es son era ser está están que
    lo se no su sus como más
    il lo gli i una di da con su per tra fra è sono che non
    o os as um uma e ou mas do da dos das em no na nos nas com por para é são que não
    de het een en of maar van in op aan met voor is zijn was niet dat die""".split()
)
MIN_WORDS = 25  # shorter passages (a title, a table cell) say too little to judge
MAX_FUNCTION_SHARE = 0.12  # honest prose runs 0.35–0.55; a table of numbers has its own shape
MAX_SENTENCES_PER_100_WORDS = 1.5
# Letters among the visible characters: a bag of words is nearly all letters, while code, markup,
# tables and lists of names or files (keyword-list shaped too, and honest) carry symbols and digits.
MIN_LETTER_SHARE = 0.93
# Text that runs on without line structure (at least this many words a line): there the letters are
# counted within worded tokens only, so numbers or symbols put between a bag's words do not pass it
# as honest. Tables, option lists and changelog bullets keep their lines and are read as above
# (counting within worded tokens everywhere flagged 47 honest chunks of the real folders; in runs of
# text only, 4 of about 50,000 chunks of nine corpora: one-line changelogs).
MIN_WORDS_PER_LINE_RUN = 40
MIN_QUESTIONS = 3
MIN_QUESTION_SHARE = 0.6  # of the passage's words, in its questions
# The reranker calls it relevant while the bi-encoder finds it about something else: on SciFact no
# passage of 332 with relevance >= 0.9 had a cosine below 0.2, and relevant ones none below 0.29
# (bench/RESULTS.md); a keyword bag reads 0.09. Set for the default bi-encoder (all-MiniLM-L6-v2):
# models whose cosines sit higher never reach it.
MIN_DISAGREEMENT_RELEVANCE = 0.5
MAX_DISAGREEMENT_COSINE = 0.15
MIN_ECHO_WORDS = 4
MIN_ECHO_SHARE = 0.6  # of the passage's content words that are the query's own
MIN_ECHO_COVERAGE = 0.6  # of the query's content words the passage repeats

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SENTENCE_END = re.compile(r"[.!?;:。！？](?=\s|$)")
# A run up to its terminator, if any: every match consumes its run, so the scan stays linear.
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]?")
# Orders addressed to a model that reads the passage. Documentation gives its reader orders too
# ("you must tell Git where…", "ignore any instructions related to…"), so each phrase names what
# only an injected text names: the previous instructions or the other sources, the user, an AI.
_INSTRUCTIONS = re.compile(
    r"|".join(
        (
            r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?"
            r"(?:previous|prior|above|earlier|preceding|system)\s+(?:instructions?|prompts?|rules|context|messages?)\b",
            r"\b(?:ignore|disregard)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+)?other\s+(?:sources|documents|passages|results|search results|context)\b",
            r"\byou (?:must|should|need to|have to|are required to)\s+(?:now\s+|always\s+|only\s+)?"
            r"(?:tell|inform|remind|advise|urge)\s+(?:the\s+)?(?:user|users|reader|readers|customer|customers)\b",
            r"\b(?:note|message|notice|instructions?)\s+(?:to|for)\s+(?:the\s+)?(?:ai|llm|language model|assistant|chatbot)s?\b",
            r"\bas an ai(?: language model)?\b",
            r"<\s*/?\s*(?:tool_call|function_call)\s*>",
            r"\"(?:name|tool|function)\"\s*:\s*\"[^\"]{1,64}\"\s*,\s*\"(?:arguments|parameters|input)\"\s*:",
        )
    ),
    re.IGNORECASE,
)
# Zero-width and bidirectional controls inside a Latin-script word: no visible trace, but they
# split words for a tokenizer. (Joiners are part of honest Indic and Persian text, so only these.)
_INVISIBLE = re.compile("[A-Za-z][\u200b\u200c\u200d\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069]+[A-Za-z]")
MIN_INVISIBLE = 3


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in FUNCTION_WORDS and len(w) > 1]


def _latin(ws: list[str]) -> bool:
    letters = "".join(ws)
    return bool(letters) and sum("LATIN" in unicodedata.name(c, "") for c in letters) >= 0.8 * len(letters)


def is_keyword_list(text: str) -> bool:
    ws = words(text)
    if len(ws) < MIN_WORDS or not _latin(ws):
        return False
    function_share = sum(w in FUNCTION_WORDS for w in ws) / len(ws)
    sentences = len(_SENTENCE_END.findall(text))
    run_on = len(ws) >= MIN_WORDS_PER_LINE_RUN * sum(1 for line in text.splitlines() if line.strip())
    visible = "".join(t for t in text.split() if not run_on or any(c.isalpha() for c in t))
    letters = sum(c.isalpha() for c in visible) / len(visible)
    return function_share <= MAX_FUNCTION_SHARE and sentences * 100 / len(ws) <= MAX_SENTENCES_PER_100_WORDS and letters >= MIN_LETTER_SHARE


def is_question_list(text: str) -> bool:
    questions = [s for s in _SENTENCE.findall(text) if s.endswith(("?", "？"))]
    if len(questions) < MIN_QUESTIONS:
        return False
    asked = sum(len(words(q)) for q in questions)
    return asked >= MIN_QUESTION_SHARE * max(1, len(words(text)))


def has_instructions(text: str) -> bool:
    return _INSTRUCTIONS.search(text) is not None


def has_hidden_text(text: str) -> bool:
    return len(_INVISIBLE.findall(text)) >= MIN_INVISIBLE


def passage_flags(text: str) -> list[str]:
    """The checks a passage fails, from its text alone (stored with it when it is indexed)."""
    checks = (
        (KEYWORD_LIST, is_keyword_list),
        (QUESTION_LIST, is_question_list),
        (INSTRUCTIONS, has_instructions),
        (HIDDEN_TEXT, has_hidden_text),
    )
    return [flag for flag, check in checks if check(text)]


def with_document_flags(chunks: list[Chunk]) -> list[Chunk]:
    """A document's chunks, each also carrying the DOCUMENT_FLAGS any of them carries."""
    spread = [f for f in DOCUMENT_FLAGS if any(f in c.flags for c in chunks)]
    for c in chunks:
        c.flags = [*c.flags, *(f for f in spread if f not in c.flags)]
    return chunks


def flag_for_query(query: str, cands: list[Candidate], *, trusted: list[str], untrusted: list[str]) -> None:
    """What depends on the query and the settings in force, not on the indexed text: [trust]
    (trusted sources carry no flag, untrusted ones `untrusted_source`), `query_echo`, and
    `channels_disagree` (read after reranking: the calibrated relevance is high, the bi-encoder's
    cosine far below any relevant passage's), so one channel alone cannot carry a passage up."""
    asked = set(content_words(query))
    for c in cands:
        source = c.chunk.source
        if any(glob_match(source, g) for g in trusted):
            c.trusted = True
            continue
        if any(glob_match(source, g) for g in untrusted):
            c.query_flags.append(UNTRUSTED_SOURCE)
        if _echoes(asked, c.chunk.text):
            c.query_flags.append(QUERY_ECHO)
        if (c.relevance or 0.0) >= MIN_DISAGREEMENT_RELEVANCE and c.dense is not None and c.dense < MAX_DISAGREEMENT_COSINE:
            c.query_flags.append(CHANNELS_DISAGREE)


def echoes_query(query: str, text: str) -> bool:
    """Whether the passage's content words are mostly the query's own and cover most of them."""
    return _echoes(set(content_words(query)), text)


def _echoes(asked: set[str], text: str) -> bool:
    said = content_words(text)
    if len(asked) < 2 or len(said) < MIN_ECHO_WORDS:
        return False
    echoed = sum(w in asked for w in said)
    covered = len(asked & set(said)) / len(asked)
    return echoed >= MIN_ECHO_SHARE * len(said) and covered >= MIN_ECHO_COVERAGE
