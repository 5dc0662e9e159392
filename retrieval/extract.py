"""Text extraction by file type: plain text plus the heading structure the chunker follows.

Small files can expand (a PDF page tree that lists one page 90,000 times, deeply nested HTML), so
the builder stops at a character and a section limit, and HTML is read as a stream, never as a tree."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ragate.retrieval.documents import Section
from ragate.retrieval.errors import ExtractionError


@dataclass
class Extracted:
    text: str
    sections: list[Section]
    title: str = ""
    front_matter: dict[str, str] = field(default_factory=dict)


class _Builder:
    """Accumulates blocks of text under a heading stack and records section offsets."""

    def __init__(self, max_chars: int | None = None, max_sections: int | None = None) -> None:
        self.max_chars = max_chars
        self.max_sections = max_sections
        self.parts: list[str] = []
        self.length = 0
        self.sections: list[Section] = []
        self.stack: list[tuple[int, str]] = []
        self._section_start = 0

    def _close_section(self) -> None:
        if self.length > self._section_start:
            if self.max_sections is not None and len(self.sections) >= self.max_sections:
                raise ExtractionError(f"expands to more than {self.max_sections} sections ([index] max_chunks_per_file)", "too_large")
            self.sections.append(Section(heading_path=[h for _, h in self.stack], start=self._section_start, end=self.length))

    def heading(self, level: int, title: str) -> None:
        self._close_section()
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))
        self.block(title)
        # The heading line belongs to its own section so a search hit carries its context.
        self._section_start = self.length - len(title)

    def block(self, text: str) -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        self.parts.append(text)
        self.length += len(text)
        if self.max_chars is not None and self.length > self.max_chars:
            raise ExtractionError(f"extracted text runs past {self.max_chars} characters ([index] max_file_chars)", "too_large")

    def build(self, title: str = "", front_matter: dict[str, str] | None = None) -> Extracted:
        self._close_section()
        return Extracted("".join(self.parts), self.sections, title, front_matter or {})


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^(```|~~~)")


def _front_matter(raw: str) -> tuple[dict[str, str], str]:
    m = _FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    fm = {}
    for line in m.group(1).splitlines():
        if ":" in line and not line.startswith((" ", "\t", "-")):
            k, v = line.split(":", 1)
            fm[k.strip().lower()] = v.strip().strip("\"'")
    return fm, raw[m.end() :]


def _paragraphs(lines: list[str], b: _Builder) -> None:
    if lines:
        for para in re.split(r"\n\s*\n", "\n".join(lines)):
            b.block(para)
        lines.clear()


def extract_markdown(raw: str, b: _Builder) -> Extracted:
    fm, body = _front_matter(raw)
    pending: list[str] = []
    in_fence = False
    title = fm.get("title", "")
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _MD_HEADING.match(line)
        if m:
            _paragraphs(pending, b)
            b.heading(len(m.group(1)), m.group(2))
            title = title or (m.group(2) if len(m.group(1)) == 1 else "")
        else:
            pending.append(line)
    _paragraphs(pending, b)
    return b.build(title, fm)


_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+_.:])\1{2,}\s*$")


def extract_rst(raw: str, b: _Builder) -> Extracted:
    levels: list[str] = []
    lines = raw.splitlines()
    pending: list[str] = []
    title = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _RST_UNDERLINE.match(nxt) and len(nxt.rstrip()) >= len(line.rstrip()):
            if pending and _RST_UNDERLINE.match(pending[-1]):  # overline of an over+underlined title
                pending.pop()
            _paragraphs(pending, b)
            ch = nxt.strip()[0]
            if ch not in levels:
                levels.append(ch)
            b.heading(levels.index(ch) + 1, line.strip())
            title = title or line.strip()
            i += 2
            continue
        pending.append(line)
        i += 1
    _paragraphs(pending, b)
    return b.build(title)


_HTML_BLOCKS = {"p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption", "caption"}
_HTML_SKIP = {"script", "style", "noscript", "template", "nav", "svg"}
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Block tags that are often left unclosed: a new one closes the open one.
_HTML_IMPLIED_END = {"p", "li", "td", "th", "dt", "dd"}
_HTML_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# An element a browser does not show: its text is not what a reader reads, and a page can hide
# instructions for a model there (like script and style, it is left out).
# Inline styles that hide: not displayed, invisible, no size, fully transparent, or pushed
# thousands of pixels off the page.
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden"
    r"|(?:^|[;\s])(?:font-size|opacity)\s*:\s*(?:0+(?:\.0*)?|\.0+)(?:px|pt|em|rem|%)?\s*(?:!important\s*)?(?:;|$)"
    r"|(?:^|[;\s])(?:left|top|text-indent)\s*:\s*-\d{4,}",
    re.IGNORECASE,
)
_NO_COLOUR = {"inherit", "initial", "unset", "revert", "currentcolor", "transparent"}  # no colour of their own
_STYLE_COLOUR = re.compile(r"(?:^|[;\s])(background-color|background|color)\s*:\s*([^;!]+)", re.IGNORECASE)


def _hidden_style(style: str) -> bool:
    """A style that hides its text, including text in its own background's colour."""
    if _HIDDEN_STYLE.search(style):
        return True
    colours = {k.lower().split("-")[0]: "".join(v.lower().split()) for k, v in _STYLE_COLOUR.findall(style)}
    colour = colours.get("color")
    return colour is not None and colour not in _NO_COLOUR and colour == colours.get("background")


def _hidden(attrs: list[tuple[str, str | None]]) -> bool:
    return any(k == "hidden" or (k == "style" and v and _hidden_style(v)) for k, v in attrs)


class _HtmlText(HTMLParser):
    """One pass over the markup, keeping only the text of headings and outermost blocks: time and
    memory stay linear in the file, however deep or wide the markup."""

    def __init__(self, b: _Builder) -> None:
        super().__init__(convert_charrefs=True)
        self.b = b
        self.title = ""
        self.heading_title = ""
        self.loose: list[str] = []  # text outside any block, kept for markup without blocks
        self._skip = 0
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None
        self._block: tuple[str, int, list[str]] | None = None  # tag, nesting of that tag, text
        self._hidden: tuple[str, int] | None = None  # a hidden element being skipped: its tag, nesting of that tag

    def handle_starttag(self, tag: str, attrs) -> None:
        if self._hidden is not None:
            if tag == self._hidden[0]:
                self._hidden = (tag, self._hidden[1] + 1)
            return
        if tag not in _HTML_VOID and _hidden(attrs):
            self._hidden = (tag, 1)
            return
        if tag in _HTML_SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _HTML_HEADINGS:
            self._end_block()
            self._heading = (int(tag[1]), [])
        elif self._block is not None and tag == self._block[0]:
            if tag in _HTML_IMPLIED_END:
                self._end_block()
                self._block = (tag, 1, [])
            else:
                self._block = (tag, self._block[1] + 1, self._block[2])
        elif self._block is None and self._heading is None and tag in _HTML_BLOCKS:
            self._block = (tag, 1, [])

    def handle_endtag(self, tag: str) -> None:
        if self._hidden is not None:
            if tag == self._hidden[0]:
                self._hidden = (tag, self._hidden[1] - 1) if self._hidden[1] > 1 else None
            return
        if tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _HTML_HEADINGS and self._heading is not None:
            level, parts = self._heading
            self._heading = None
            text = " ".join("".join(parts).split())
            if text:
                self.b.heading(level, text)
                self.heading_title = self.heading_title or text
        elif self._block is not None and tag == self._block[0]:
            if self._block[1] == 1:
                self._end_block()
            else:
                self._block = (tag, self._block[1] - 1, self._block[2])

    def handle_data(self, data: str) -> None:
        if self._skip or self._hidden is not None:
            return
        if self._in_title:
            self.title += data
        elif self._heading is not None:
            self._heading[1].append(data)
        elif self._block is not None:
            self._block[2].append(data)
        elif data.strip() and not self.b.parts:
            self.loose.append(data.strip())

    def _end_block(self) -> None:
        if self._block is not None:
            tag, _, parts = self._block
            self._block = None
            text = "".join(parts)
            self.b.block(text if tag == "pre" else re.sub(r"\s+", " ", text).strip())

    def finish(self) -> Extracted:
        self.close()
        self._end_block()
        if not self.b.parts:  # markup without block elements: keep its text
            self.b.block(re.sub(r"[ \t]+", " ", "\n".join(self.loose)))
        return self.b.build(" ".join(self.title.split()) or self.heading_title)


def extract_html(raw: str, b: _Builder) -> Extracted:
    parser = _HtmlText(b)
    parser.feed(raw)
    return parser.finish()


def extract_pdf(data: bytes, b: _Builder) -> Extracted:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("encrypted PDF", "unreadable")
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        # Pages one at a time, so the builder's limits stop a page tree that fans out.
        for n, page in enumerate(reader.pages, start=1):
            b._close_section()
            b.stack = [(1, f"page {n}")]
            b._section_start = b.length + (2 if b.parts else 0)
            for para in re.split(r"\n\s*\n", (page.extract_text() or "").replace("\x00", "")):
                b.block(para)
    except ExtractionError:
        raise
    except Exception as e:  # pypdf raises many kinds on malformed files; each means "corrupt"
        raise ExtractionError(f"corrupt PDF: {type(e).__name__}: {str(e)[:200]}") from None
    if not b.parts:
        raise ExtractionError("PDF has no extractable text (scanned images need OCR first)", "no_text")
    return b.build(str(meta_title))


def extract_text(raw: str, b: _Builder) -> Extracted:
    for para in re.split(r"\n\s*\n", raw):
        b.block(para)
    return b.build("")


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ExtractionError("binary content (NUL bytes) in a text file", "unsupported")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\x00", "")  # a stray NUL past the sniffed head: dropped, never stored


EXTRACTORS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def extract(data: bytes, suffix: str, *, max_chars: int | None = None, max_sections: int | None = None) -> Extracted:
    """Text and sections; ExtractionError when the file is unreadable or expands past the limits."""
    kind = EXTRACTORS.get(suffix.lower(), "text")
    b = _Builder(max_chars, max_sections)
    if kind == "pdf":
        return extract_pdf(data, b)
    raw = decode_text(data)
    return {"markdown": extract_markdown, "rst": extract_rst, "html": extract_html, "text": extract_text}[kind](raw, b)
