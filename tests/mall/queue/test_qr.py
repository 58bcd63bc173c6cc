"""Booking QR codes are full QR codes, which phone cameras and kiosk scanners read."""

from __future__ import annotations

import re
import struct

from mall.queue.qr import qr_png, qr_svg

# A full QR code has at least 21 modules a side plus a quiet zone of 4 on each side; a Micro
# QR (which segno would choose for an 8-character code) at most 17 plus 2 on each side.
FULL_QR_MIN_MODULES = 21 + 2 * 4


def test_svg_is_a_full_qr_code() -> None:
    svg = qr_svg("249B4TH3", scale=1)
    width = int(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    assert width >= FULL_QR_MIN_MODULES
    assert svg.startswith("<svg") and "<title>249B4TH3</title>" in svg


def test_png_is_a_full_qr_code() -> None:
    png = qr_png("249B4TH3", scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width == height >= FULL_QR_MIN_MODULES
