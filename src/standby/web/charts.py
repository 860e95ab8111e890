"""Small trend charts of vital signs as inline SVG, drawn on the server (no script, prints
well). One panel per measurement with its own scale, sharing the time axis; the latest
value is written beside each line. `<title>`/`<desc>` make it readable by screen readers;
the table under it on the page carries the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

PANEL_H = 46
LABEL_W = 150
VALUE_W = 90
GAP = 8


@dataclass(frozen=True)
class Series:
    label: str  # "Heart rate"
    unit: str  # "/min"
    points: Sequence[tuple[datetime, float]]
    low: float | None = None  # normal range, shaded
    high: float | None = None


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:.0f}"


def _outside(s: Series, v: float) -> bool:
    return (s.low is not None and v < s.low) or (s.high is not None and v > s.high)


def _described(s: Series) -> str:
    """ "Heart rate: latest 112 /min (high), 3 of 12 readings outside 60–100" """
    last = s.points[-1][1]
    text = f"{s.label}: latest {_fmt(last)} {s.unit}"
    if s.low is not None and last < s.low:
        text += " (low)"
    elif s.high is not None and last > s.high:
        text += " (high)"
    out = sum(1 for _, v in s.points if _outside(s, v))
    if out and s.low is not None and s.high is not None:
        text += f", {out} of {len(s.points)} readings outside {_fmt(s.low)}–{_fmt(s.high)}"
    return text


def trend_svg(
    series: Sequence[Series],
    *,
    width: int = 720,
    title: str = "Vital signs trend",
    ident: str = "vitals-chart",
) -> Markup:
    """An SVG of the series (those without points are left out); empty Markup if none.
    `ident` prefixes the ids of its `<title>` and `<desc>`, which name and describe it
    to screen readers (one chart per page keeps the default)."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return Markup("")
    times = [t for s in drawn for t, _ in s.points]
    t0, t1 = min(times), max(times)
    span = max((t1 - t0).total_seconds(), 1.0)
    plot_w = width - LABEL_W - VALUE_W
    height = len(drawn) * (PANEL_H + GAP) + 18
    summary = "; ".join(_described(s) for s in drawn)
    out: list[str] = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img"'
        f' aria-labelledby="{ident}-title" aria-describedby="{ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(summary)}</desc>',
        "<style>text{font:12px system-ui,sans-serif;fill:#1b1f23}.v{font-weight:700}"
        ".ax{stroke:#c9d1d9}.n{fill:#e6f4ea}.l{fill:none;stroke:#0b5cab;stroke-width:2}"
        ".d{fill:#0b5cab}.o{fill:#b71c1c}</style>",
    ]
    for i, s in enumerate(drawn):
        y0 = i * (PANEL_H + GAP) + 4
        values = [v for _, v in s.points]
        lo = min([*values, *(x for x in (s.low,) if x is not None)])
        hi = max([*values, *(x for x in (s.high,) if x is not None)])
        pad = (hi - lo) * 0.1 or max(abs(hi) * 0.05, 1.0)
        lo, hi = lo - pad, hi + pad

        def y(v: float, lo: float = lo, hi: float = hi, y0: int = y0) -> float:
            return y0 + PANEL_H - (v - lo) / (hi - lo) * PANEL_H

        def x(t: datetime) -> float:
            return LABEL_W + (t - t0).total_seconds() / span * plot_w

        out.append(f'<text x="0" y="{y0 + PANEL_H / 2 + 4:.1f}">{escape(s.label)}</text>')
        out.append(
            f'<rect class="ax" x="{LABEL_W}" y="{y0}" width="{plot_w}"'
            f' height="{PANEL_H}" fill="#fff"/>'
        )
        if s.low is not None and s.high is not None:
            top, bottom = y(s.high), y(s.low)
            out.append(
                f'<rect class="n" x="{LABEL_W}" y="{top:.1f}" width="{plot_w}"'
                f' height="{max(bottom - top, 0):.1f}"/>'
            )
        pts = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in s.points)
        if len(s.points) > 1:
            out.append(f'<polyline class="l" points="{pts}"/>')
        for t, v in s.points:
            outside = _outside(s, v)
            out.append(
                f'<circle class="{"o" if outside else "d"}" cx="{x(t):.1f}" cy="{y(v):.1f}" r="3"/>'
            )
        last = s.points[-1][1]
        out.append(
            f'<text class="v" x="{LABEL_W + plot_w + 6}" y="{y0 + PANEL_H / 2 + 4:.1f}">'
            f"{escape(_fmt(last))} {escape(s.unit)}</text>"
        )
    axis_y = len(drawn) * (PANEL_H + GAP) + 12
    out.append(f'<text x="{LABEL_W}" y="{axis_y}">{t0:%d %b %H:%M}</text>')
    out.append(
        f'<text x="{LABEL_W + plot_w}" y="{axis_y}" text-anchor="end">{t1:%d %b %H:%M}</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))
