"""PDFs made by the tests: CJK text with reportlab's built-in STSong-Light font, an image-only page, encryption."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter


def cjk_pdf(pages: list[str], title: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    if title:
        c.setTitle(title)
    for text in pages:
        c.setFont("STSong-Light", 14)
        y = 800
        for line in text.split("\n"):
            c.drawString(50, y, line)
            y -= 20
        c.showPage()
    c.save()
    return buf.getvalue()


def image_only_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(100, 100, 300, 300, fill=1)  # a drawing, no text layer
    c.showPage()
    c.save()
    return buf.getvalue()


def encrypted_pdf(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def slow_pdf(pages: int = 20, stream_mb: float = 1.0) -> bytes:
    """A 5 KB PDF whose pages all share one compressed content stream of no-op text blocks: pypdf's
    text extraction takes time growing with pages x stream (a hostile test's; ~1 MB x 20 pages is
    tens of seconds on 2 cores)."""
    import zlib

    content = b"BT /F1 12 Tf 72 720 Td (lecture one) Tj ET\n" + b"BT ET\n" * int(stream_mb * 2**20 / 6)
    packed = zlib.compress(content, 9)
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
               3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               4: b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"}
    kids = []
    for i in range(pages):
        objects[5 + i] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                          b"/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(b"%d 0 R" % (5 + i))
    objects[2] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % pages
    out, offsets = bytearray(b"%PDF-1.4\n"), {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[i] for i in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)
