"""Charts that explain themselves: bars coloured by their own metric's band, round ticks without "-0", bars from
zero, and no empty chart."""

from __future__ import annotations

import re

from voicerehearse.charts import IN_BAND, OUT_OF_BAND, bar_chart, line_chart


def fills(svg: str) -> list[str]:
    return re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="(#\w+)"', svg)


def test_bars_are_coloured_by_the_band_not_the_verdict():
    svg = str(bar_chart([("turn 1", -8.0, "aggressive"), ("turn 2", 0.5, "aggressive")], band=(-2.0, 2.0),
                        unit="dB", title="Loudness", zero=True))
    assert fills(svg) == [OUT_OF_BAND, IN_BAND]  # a soft voice is out of band, not "aggressive red"


def test_ticks_are_round_and_never_minus_zero():
    svg = str(bar_chart([("turn 1", -0.3, None), ("turn 2", 17.3, None)], band=(-1.1, 1.1), unit="dB",
                        title="Loudness", zero=True))
    ticks = [t for t in re.findall(r'class="axis" text-anchor="end">([^<]+)<', svg) if re.fullmatch(r"-?[\d.]+", t)]
    assert "-0" not in ticks and ticks == sorted(ticks, key=float)
    steps = {round(float(b) - float(a), 6) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and steps.pop() in (1, 2, 2.5, 5, 10, 20, 25, 50)


def test_bars_start_at_zero():
    svg = str(bar_chart([("turn 1", 140.0, None)], band=(100, 160), unit="wpm", title="Pace"))
    ticks = [t for t in re.findall(r'class="axis" text-anchor="end">([^<]+)<', svg) if re.fullmatch(r"-?[\d.]+", t)]
    assert ticks[0] == "0"


def test_line_dots_follow_the_band():
    svg = str(line_chart([("a", 1.0, "passive"), ("b", 9.0, "assertive")], band=(0, 2), unit="s", title="Wait"))
    assert re.findall(r'<circle [^>]*fill="(#\w+)"', svg) == [IN_BAND, OUT_OF_BAND]


def test_charts_without_any_value_are_left_out():
    from voicerehearse.report import SessionReport, turn_charts, turn_report

    from records import record as stored

    record = stored(duration_s=3.0, tone={"loudness_delta_db": 1.0}, label="assertive")
    report = SessionReport(id=1, trainee="D", scenario_id="s", scenario_title="S", source="import", started_at=None,
                           turns=(turn_report(1, 0, None, "a.wav", record),))
    titles = [re.search(r"<title>([^<]+)</title>", str(c)).group(1) for c in turn_charts(report)]
    assert titles == ["Loudness vs baseline"]
