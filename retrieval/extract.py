"""Text extraction by file type: plain text plus the heading structure the chunker follows."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from ragate.retrieval.documents import Section


class ExtractionError(Exception):
    """A file that cannot be read as a document (corrupt, binary, encrypted)."""


@dataclass
class Extracted:
    text: str
    sections: list[Section]
    title: str = ""
    front_matter: dict[str, str] = field(default_factory=dict)


class _Builder:
    """Accumulates blocks of text under a heading stack and records section offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.sections: list[Section] = []
        self.stack: list[tuple[int, str]] = []
        self._section_start = 0

    def _close_section(self) -> None:
        if self.length > self._section_start:
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


def extract_markdown(raw: str) -> Extracted:
    fm, body = _front_matter(raw)
    b = _Builder()
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


def extract_rst(raw: str) -> Extracted:
    b = _Builder()
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


def extract_html(raw: str) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "svg"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    b = _Builder()
    body = soup.body or soup
    for el in body.find_all(True):
        name = el.name.lower()
        if name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            text = el.get_text(" ", strip=True)
            if text:
                b.heading(int(name[1]), text)
                title = title or text
        elif name in _HTML_BLOCKS and not el.find_parent(list(_HTML_BLOCKS)):
            text = el.get_text()
            b.block(text if name == "pre" else re.sub(r"\s+", " ", text).strip())
    if not b.parts:  # markup without block elements: keep its text
        b.block(re.sub(r"[ \t]+", " ", body.get_text("\n", strip=True)))
    return b.build(title)


def extract_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("encrypted PDF")
        pages = [p.extract_text() or "" for p in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise ExtractionError(f"corrupt PDF: {e}") from None
    b = _Builder()
    for n, page in enumerate(pages, start=1):
        b._close_section()
        b.stack = [(1, f"page {n}")]
        b._section_start = b.length + (2 if b.parts else 0)
        for para in re.split(r"\n\s*\n", page):
            b.block(para)
    if not b.parts:
        raise ExtractionError("PDF has no extractable text (scanned images need OCR first)")
    return b.build(str(meta_title))


def extract_text(raw: str) -> Extracted:
    b = _Builder()
    for para in re.split(r"\n\s*\n", raw):
        b.block(para)
    return b.build("")


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ExtractionError("binary content (NUL bytes) in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


EXTRACTORS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


def extract(data: bytes, suffix: str) -> Extracted:
    kind = EXTRACTORS.get(suffix.lower(), "text")
    if kind == "pdf":
        return extract_pdf(data)
    raw = decode_text(data)
    return {"markdown": extract_markdown, "rst": extract_rst, "html": extract_html, "text": extract_text}[kind](raw)
