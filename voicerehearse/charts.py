"""Small inline SVG charts drawn on the server: no script, no CDN, every label escaped.

>>> svg = bar_chart([("turn 1", 180.0, "aggressive")], band=(100, 160), unit="wpm", title="Pace")
>>> svg.startswith("<svg") and "160" in svg
True
"""

from __future__ import annotations

from markupsafe import Markup, escape

from voicerehearse.palette import NEUTRAL  # a value with no band to judge it by
IN_BAND = "#486581"  # a value inside the metric's own normal range
OUT_OF_BAND = "#dd6b20"  # outside it: the colour says where the value lies, not what the verdict was


def band_colour(value: float, band: tuple[float, float] | None) -> str:
    """``>>> band_colour(5.0, (0, 3))`` gives ``'#dd6b20'``: bars and dots are coloured by their own metric."""
    if band is None:
        return NEUTRAL
    return IN_BAND if band[0] <= value <= band[1] else OUT_OF_BAND


def _nice_step(span: float) -> float:
    import math

    raw = span / 4 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _tick(v: float) -> str:
    text = f"{round(v, 6):g}"
    return "0" if text in ("-0", "0") else text


def _scale(lo: float, hi: float, top: float, bottom: float):
    span = (hi - lo) or 1.0
    return lambda v: bottom - (v - lo) / span * (bottom - top)


def _range(values: list[float], band: tuple[float, float] | None, pad: float = 0.1) -> tuple[float, float]:
    """Axis ends on round numbers that hold the values and the band."""
    import math

    pts = list(values) + (list(band) if band else [])
    lo, hi = min(pts, default=0.0), max(pts, default=1.0)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    margin = (hi - lo) * pad
    low = lo if lo == 0 else lo - margin  # an axis that starts at zero stays there
    high = hi if hi == 0 else hi + margin
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _frame(title: str, width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="4" y="14" class="chart-title">{escape(title)}</text>' + "".join(body) + "</svg>"
    )


def _band(band, y, x0, x1, note) -> list[str]:
    if not band:
        return []
    top, bottom = y(band[1]), y(band[0])
    return [f'<rect x="{x0}" y="{top:.1f}" width="{x1 - x0}" height="{bottom - top:.1f}" class="band"/>',
            f'<text x="{x1 - 2}" y="{top - 3:.1f}" class="axis" text-anchor="end">{escape(note)}</text>']


def _axis(lo, hi, y, x0, unit) -> list[str]:
    """Round ticks from ``lo`` to ``hi`` (never "-0") and the unit above them."""
    step = _nice_step(hi - lo)
    out, v = [], lo
    while v <= hi + step * 1e-6:
        out.append(f'<text x="{x0 - 4}" y="{y(v) + 4:.1f}" class="axis" text-anchor="end">{_tick(v)}</text>')
        v += step
    out.append(f'<text x="{x0 - 4}" y="{y(hi) - 8:.1f}" class="axis" text-anchor="end">{escape(unit)}</text>')
    return out


def bar_chart(items: list[tuple[str, float | None, str | None]], *, band: tuple[float, float] | None, unit: str,
              title: str, zero: bool = False, band_note: str = "") -> Markup:
    """One bar per item (label, value, verdict style); ``band`` is shaded (the acceptable range) and each bar is
    coloured by whether its value lies inside it."""
    width, height, x0, x1, top, bottom = 360, 170, 44, 352, 24, 140
    values = [v for _, v, _ in items if v is not None]
    lo, hi = _range(values + [0.0], band)  # bars start at zero, never at the axis minimum
    y = _scale(lo, hi, top, bottom)
    body = _band(band, y, x0, x1, band_note or (f"{band[0]:g} to {band[1]:g} {unit}" if band else "")) + _axis(lo, hi, y, x0, unit)
    base = y(0.0) if zero or lo <= 0 <= hi else bottom
    if zero:
        body.append(f'<line x1="{x0}" x2="{x1}" y1="{base:.1f}" y2="{base:.1f}" class="zero"/>')
    n = max(len(items), 1)
    slot = (x1 - x0) / n
    bar = min(slot * 0.6, 48)
    for i, (label, value, style) in enumerate(items):
        cx = x0 + slot * (i + 0.5)
        body.append(f'<text x="{cx:.1f}" y="{bottom + 16}" class="axis" text-anchor="middle">{escape(label)}</text>')
        if value is None:
            body.append(f'<text x="{cx:.1f}" y="{base - 4:.1f}" class="axis" text-anchor="middle">–</text>')
            continue
        yv = y(value)
        colour = band_colour(value, band)
        body.append(f'<rect x="{cx - bar / 2:.1f}" y="{min(yv, base):.1f}" width="{bar:.1f}" '
                    f'height="{max(abs(base - yv), 1):.1f}" fill="{colour}"><title>{escape(label)}: '
                    f'{value:.1f} {escape(unit)}</title></rect>')
        body.append(f'<text x="{cx:.1f}" y="{min(yv, base) - 3:.1f}" class="value" text-anchor="middle">{value:.0f}</text>')
    return _frame(title, width, height, body, f"{title} per item")


def line_chart(points: list[tuple[str, float | None, str | None]], *, band: tuple[float, float] | None, unit: str,
               title: str, band_note: str = "", reference: tuple[float, str] | None = None) -> Markup:
    """Values over sessions, dots coloured by in / out of ``band``; gaps where a value is missing; ``reference``
    (value, label), e.g. the team's median, a dashed line across.

    >>> svg = line_chart([("01-02", 1.0, None), ("01-03", 3.0, None)], band=None, unit="s", title="Latency",
    ...                  reference=(2.0, "team median 2.0 s"))
    >>> 'class="reference"' in svg and "team median 2.0 s" in svg
    True
    """
    width, height, x0, x1, top, bottom = 520, 180, 44, 510, 24, 146
    values = [v for _, v, _ in points if v is not None]
    lo, hi = _range(values + ([reference[0]] if reference else []), band)
    y = _scale(lo, hi, top, bottom)
    body = _band(band, y, x0, x1, band_note or (f"{band[0]:g} to {band[1]:g} {unit}" if band else "")) + _axis(lo, hi, y, x0, unit)
    if reference is not None:
        ry = y(reference[0])
        body += [f'<line x1="{x0}" x2="{x1}" y1="{ry:.1f}" y2="{ry:.1f}" class="reference" stroke="#627d98" '
                 f'stroke-dasharray="5 4"/>',
                 f'<text x="{x0 + 4}" y="{ry - 4:.1f}" class="axis reference-label">{escape(reference[1])}</text>']
    n = len(points)
    xs = [x0 + 10 + (x1 - x0 - 20) * (i / max(n - 1, 1)) for i in range(n)]
    path, pen = [], False
    for x, (_, v, _) in zip(xs, points):
        if v is None:
            pen = False
            continue
        path.append(f"{'L' if pen else 'M'}{x:.1f},{y(v):.1f}")
        pen = True
    if path:
        body.append(f'<path d="{" ".join(path)}" class="line"/>')
    step = max(1, n // 8)
    for i, (x, (label, v, style)) in enumerate(zip(xs, points)):
        if i % step == 0 or i == n - 1:
            body.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="axis" text-anchor="middle">{escape(label)}</text>')
        if v is not None:
            body.append(f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="4" fill="{band_colour(v, band)}">'
                        f'<title>{escape(label)}: {v:.1f} {escape(unit)}</title></circle>')
    return _frame(title, width, height, body, f"{title} over sessions")
