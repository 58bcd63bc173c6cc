"""QR codes of booking codes (segno: pure Python, no imaging library), for pages and e-mail.

The QR holds the bare booking code, so a kiosk's scanner (which types what it reads) and a
citizen typing the code by hand give the kiosk the same input. Always a full QR code: for
so short a text segno would pick a Micro QR, which most phone cameras and scanners can't read.
"""

from __future__ import annotations

import io

import segno


def qr_svg(code: str, *, scale: int = 4) -> str:
    """An inline ``<svg>`` element (no XML declaration) drawing ``code`` as a QR code."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(
        buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, title=code
    )
    return buffer.getvalue().decode()


def qr_png(code: str, *, scale: int = 6) -> bytes:
    """``code`` as a QR code PNG (for e-mail attachments: mail clients drop inline SVG)."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="png", scale=scale)
    return buffer.getvalue()
