"""Server-rendered SVG charts: no JavaScript, a few hundred bytes, readable by screen readers.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says in words
what the bars say; the page puts the exact figures beside it in a table. Colours come from
the stylesheet's variables, so the charts follow the site's contrast choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

ROW_HEIGHT = 22
LABEL_WIDTH = 280
VALUE_WIDTH = 48
CHART_WIDTH = 640


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value and an optional CSS class (e.g. to flag it)."""

    label: str
    value: float
    css_class: str = ""
    note: str = ""


def _fmt(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value == int(value) else f"{value:.1f}"


def bar_chart(bars: Sequence[Bar], *, title: str, description: str, ident: str) -> SafeString:
    """A horizontal bar chart of ``bars``, scaled to the largest value."""
    height = max(1, len(bars)) * ROW_HEIGHT + 8
    top = max((bar.value for bar in bars), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{ident}-t {ident}-d" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(description)}</desc>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="18" class="chart-label">{escape("Belum ada data.")}</text>')
    for i, bar in enumerate(bars):
        y = i * ROW_HEIGHT + 4
        width = max(0.0, bar.value) / top * room
        label = bar.label if len(bar.label) <= 36 else bar.label[:35] + "…"
        css = f"chart-bar {bar.css_class}".strip()
        parts.append(
            f'<g><text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end" '
            f'class="chart-label">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" height="{ROW_HEIGHT - 6}" '
            f'class="{escape(css)}"><title>{escape(bar.label)}: {_fmt(bar.value)}'
            f"{escape(' — ' + bar.note) if bar.note else ''}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 14}" class="chart-value">'
            f"{_fmt(bar.value)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above went through escape()
