"""Small files that expand: built by hand so the tests show the limits, not a fixture's luck."""

from __future__ import annotations


def _pdf(objs: list[bytes]) -> bytes:
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def fanout_pdf(fan: int = 30, leaves: int = 100) -> bytes:
    """About 2 KB that lists one page fan·fan·leaves times (90,000 by default) through a page tree
    whose nodes point at the same child again and again."""
    stream = b"BT /F1 12 Tf 72 720 Td (The same page again.) Tj ET"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b"3 0 R " * fan + b"] /Count %d >>" % (fan * fan * leaves),
            b"<< /Type /Pages /Parent 2 0 R /Kids [" + b"4 0 R " * fan + b"] /Count %d >>" % (fan * leaves),
            b"<< /Type /Pages /Parent 3 0 R /Kids [" + b"5 0 R " * leaves + b"] /Count %d >>" % leaves,
            b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def nested_html(megabytes: float = 6) -> bytes:
    """Markup a tree parser chokes on: deep nesting of blocks inside blocks, and a flood of tiny
    paragraphs."""
    half = int(megabytes * 1024 * 1024 / 2)
    deep = b"<div><blockquote>" * (half // 34) + b"deep text" + b"</blockquote></div>" * (half // 34)
    wide = b"<p>w</p>" * (half // 8)
    return b"<html><body>" + deep + wide + b"</body></html>"
