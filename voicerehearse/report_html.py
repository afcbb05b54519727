"""The HTML and PDF writers of a :class:`~voicerehearse.report_model.SessionReport`: one self-contained page (inline
CSS and SVG charts, no scripts, no external requests) a coach can e-mail, and that page as a PDF. Registered in
voicerehearse.report_formats; colours from voicerehearse.palette.
"""

from __future__ import annotations

from voicerehearse import charts as plots
from voicerehearse.delivery import normal_band
from voicerehearse.palette import NEUTRAL, STYLE_COLOURS
from voicerehearse.report_model import ROUGH_LABEL, ReportError, SessionReport
from voicerehearse.settings import DEFAULTS, Settings
from voicerehearse.types import Analysis

_HTML_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.trainee }} · {{ r.scenario_title }} — VoiceRehearse report</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2933;max-width:56rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin:1.6rem 0 .4rem}
.meta,.sure{color:#52606d} .sure{font-weight:400} .card{border:1px solid #d9e2ec;border-radius:8px;padding:1rem;margin:1rem 0}
.verdict{display:inline-block;padding:.1rem .6rem;border-radius:999px;color:#fff;font-weight:600}
{% for s, c in colours.items() %}.{{ s }}{background:{{ c }}}{% endfor %}.none{background:{{ neutral }}}
table{border-collapse:collapse;width:100%;margin:.4rem 0} td,th{border-bottom:1px solid #e4e7eb;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{font-weight:600;color:#3e4c59} .num{text-align:right;font-variant-numeric:tabular-nums}
.flag-problem{color:{{ colours.aggressive }}}.flag-warning{color:{{ colours.passive }}}.flag-info,.ok{color:{{ colours.assertive }}}
blockquote{margin:.4rem 0;padding:.3rem .8rem;border-left:3px solid #9fb3c8;color:#334e68}
footer{margin-top:2rem;color:#7b8794;font-size:.85rem}
.rough-label{background:#fffbea;border-left:3px solid #b7791f;padding:.3rem .6rem;color:#8d5b0a} .reply.rough{font-style:italic}
.low-conf{color:#9aa5b1} 
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:.6rem}
svg.chart .band{fill:#c6f6d5;opacity:.55} svg.chart .zero{stroke:#9fb3c8;stroke-dasharray:3 3}
svg.chart .axis{font-size:11px;fill:#627d98} svg.chart .value{font-size:10px;fill:#243b53} svg.chart .chart-title{font-size:13px;font-weight:600;fill:#243b53}
</style></head><body>
<h1>{{ r.scenario_title }}</h1>
<p class="meta">Trainee <strong>{{ r.trainee }}</strong> · session {{ r.id }}{% if r.started_at %} · {{ r.started_at.strftime('%Y-%m-%d %H:%M') }} UTC{% endif %} · {{ r.source }}</p>
{% if r.source == 'demo' %}<p class="meta">Demo session: the recordings are synthetic voices, not a real trainee.</p>{% endif %}
<p class="meta">Review: <strong class="status">{{ r.review_status }}</strong>{% if r.review_status == 'disputed' and r.review_reason %} — “{{ r.review_reason }}”{% endif %}{% if r.scorecard and r.scorecard.score_pct is not none %} · score <strong>{{ '%.0f'|format(r.scorecard.score_pct) }} %</strong>{% endif %}</p>
{% if r.moments %}<section class="card moments"><h2>Top moments</h2><ol>{% for m in r.moments %}<li class="{{ 'ok' if m.event.strength else 'flag-' ~ m.event.severity }}"><strong>{{ clock(m.when) }}{% if r.turns|length > 1 %} (turn {{ m.turn_number }}){% endif %} · {{ '✓ ' if m.event.strength }}{{ m.event.name }}</strong> — {{ m.event.summary }}. <span class="meta">{{ m.event.why if not m.event.strength else m.event.instead }}</span></li>{% endfor %}</ol></section>{% endif %}
{% if r.card %}{% set c = r.card %}<section class="card"><h2>Call figures</h2>
{% if not c.separated %}<p class="rough-label" data-label="sides-not-separated">&#9888; Mono recording: the agent's and the customer's voices are mixed, so talk ratio, monologue, interactivity and talk-overs cannot be given.</p>{% endif %}
<table>{% if c.separated %}<tr><th>agent talk ratio</th><td class="num">{{ fmt(c.agent_share * 100 if c.agent_share is not none else none, '{:.0f} %') }}</td><th>longest agent monologue</th><td class="num">{{ fmt(c.longest_monologue_s, '{:.0f} s') }}</td></tr>
<tr><th>interactivity</th><td class="num">{{ fmt(c.switches_per_min, '{:.1f} switches a minute') }}</td><th>patience</th><td class="num">{{ fmt(c.patience_s, '{:.1f} s') }}</td></tr>
<tr><th>agent talk-overs</th><td class="num">{{ c.agent_takeovers if c.agent_takeovers is not none else '–' }}{% if c.agent_backchannels %} ({{ c.agent_backchannels }} backchannels not counted){% endif %}</td><th>customer talk-overs</th><td class="num">{{ c.customer_talk_overs if c.customer_talk_overs is not none else '–' }}</td></tr>
{% if c.agent_wpm is not none %}<tr><th>agent pace (own speech)</th><td class="num">{{ '%.0f'|format(c.agent_wpm) }} words a minute</td><th></th><td></td></tr>{% endif %}{% endif %}
<tr><th>dead air (≥ {{ '%g'|format(c.dead_air_min_s) }} s)</th><td class="num">{{ c.dead_air|length }}</td><th></th><td>{% for g in c.dead_air[:6] %}{{ clock(g.start) }} ({{ '%.0f'|format(g.end - g.start) }} s){{ ', ' if not loop.last }}{% endfor %}</td></tr></table></section>{% endif %}
{% if r.scorecard %}{% set sc = r.scorecard %}<section class="card scorecard"><h2>Scorecard: {{ sc.rubric.title }}</h2>
<p>Score <strong>{{ fmt(sc.score_pct, '{:.0f} %') }}</strong> · pass mark {{ '%.0f'|format(sc.rubric.pass_mark_pct) }} %{% if sc.passed is not none %} · <strong>{{ 'passed' if sc.passed else 'not passed' }}</strong>{% else %} · the coach's criteria are not all answered{% endif %}</p>
<table><tr><th>criterion</th><th class="num">weight</th><th>result</th><th>evidence</th></tr>{% for x in sc.results %}<tr><td>{{ x.criterion.title }}</td><td class="num">{{ '%g'|format(x.criterion.weight) }}</td><td>{{ '–' if x.points is none else ('✓' if x.points >= 1 else ('✗' if x.points <= 0 else '%.0f %%'|format(100 * x.points))) }}</td><td>{{ x.rationale }}</td></tr>{% endfor %}</table></section>{% endif %}
{% if charts %}<div class="charts">{% for c in charts %}<div>{{ c }}</div>{% endfor %}</div>{% endif %}
{% for t in r.turns %}{% set a = t.analysis %}{% set label = a.delivery.label if a else none %}
<section class="card">
<h2>Turn {{ t.index + 1 }}{% if t.take %} (take {{ t.take }}){% endif %} <span class="verdict {{ label if label in colours else 'none' }}">{{ label or 'not analysed' }}</span>{% if label in colours and a.delivery.confidence is not none %} <small class="sure">{{ '%.0f'|format(100 * a.delivery.confidence) }} % sure</small>{% endif %}</h2>
{% if t.customer_text %}<blockquote>Customer: {{ t.customer_text }}</blockquote>{% endif %}
{% if t.transcript_label %}<p class="rough-label" data-label="rough-transcript">&#9888; {{ t.transcript_label }}</p>{% endif %}
{% if t.words %}<p class="reply{{ ' rough' if t.transcript_label }}"><strong>Reply{{ ' (rough transcript)' if t.transcript_label }}:</strong> {% for w in t.words %}{% if w.low_confidence(low_conf) %}<span class="low-conf" title="confidence {{ '%.2f'|format(w.conf) }}">{{ w.word }}</span>{% else %}{{ w.word }}{% endif %}{{ ' ' if not loop.last }}{% endfor %}</p>
{% if t.transcript_source %}<p class="meta">Transcript: {{ t.transcript_source }}</p>{% endif %}{% endif %}
{% if t.call %}<h3>Call transcript{{ ' (rough)' if t.call_rough }}</h3>
{% if t.call_rough %}<p class="rough-label" data-label="rough-transcript">&#9888; {{ rough_label }}</p>{% endif %}
{% if t.call_note %}<p class="meta call-note">{{ t.call_note }}</p>{% endif %}
<table class="call">{% for line in t.call %}<tr><td class="num">{{ fmt(line.start, '{:.1f} s') }}</td><th>{{ line.side }}</th><td>{{ line.text }}</td></tr>{% endfor %}</table>{% endif %}
{% if t.error %}<p class="flag-problem">Not analysed: {{ t.error }}</p>{% endif %}
{% if a %}<table><tr><th>pace</th><td class="num">{{ fmt(a.pace.words_per_minute, '{:.0f} wpm') }}</td>
<th>latency</th><td class="num">{{ fmt(a.turn.response_latency_s if a.turn else none, '{:+.2f} s') }}</td>
<th>interrupted</th><td>{{ ('yes' if a.turn.interrupted else 'no') if a.turn else '–' }}</td></tr>
<tr><th>loudness vs baseline</th><td class="num">{{ fmt(a.tone.loudness_delta_db, '{:+.1f} dB') }}</td>
<th>pitch vs baseline</th><td class="num">{{ fmt(a.tone.pitch_delta_st, '{:+.1f} st') }}</td>
<th>pauses</th><td class="num">{{ a.speech.pauses.count }}</td></tr></table>{% endif %}
{% if t.judged_against %}<p class="meta">Voice compared with {{ t.judged_against }}.</p>{% endif %}
{% set red = t.redaction %}{% if red and red.enabled and red.numbers %}<p class="meta redaction">{{ red.numbers }} spoken number(s) masked in the transcript and {{ 'beeped' if red.audio == 'beep' else 'silenced' }} in the stored recording.</p>{% endif %}
{% if t.events %}<h3>What happened</h3><ul>{% for e in t.events %}<li class="{{ 'ok' if e.strength else 'flag-' ~ e.severity }}">{% if e.start is not none and not e.whole_reply %}{{ clock(e.start) }}: {% else %}whole reply: {% endif %}<strong>{{ '✓ ' if e.strength }}{{ e.name }}</strong> — {{ e.summary }}. <span class="meta">{{ e.why }}</span></li>{% endfor %}</ul>{% endif %}
{% if t.comments %}<h3>Coach comments</h3><ul>{% for c in t.comments %}<li>{{ '%.2f'|format(c.start_s) }} s{% if c.end_s is not none %}–{{ '%.2f'|format(c.end_s) }} s{% endif %}{% if c.author %} · {{ c.author }}{% endif %}: {{ c.text }}{% for a, text in c.replies %}<br><span class="meta">↳ {{ a or 'reply' }}: {{ text }}</span>{% endfor %}</li>{% endfor %}</ul>{% endif %}
</section>
{% endfor %}
{% if dimmed %}<p class="meta">Dimmed words were recognised with less than {{ '%.0f'|format(100 * low_conf) }}% confidence.</p>{% endif %}
{% if r.turns|selectattr('words_estimated')|list %}<p class="meta">≈ times are placed on word times estimated from the speech segments (the transcript had no word timings).</p>{% endif %}
<footer>VoiceRehearse report · analysis schema voicerehearse.analysis/1 · a self-contained page: no scripts, no external requests.</footer>
</body></html>
"""



def _fmt(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _clock(t: float | None) -> str:
    """``m:ss.s`` (``>>> _clock(65.25)`` gives ``'1:05.2'``)."""
    return "–" if t is None else f"{int(t // 60)}:{t % 60:04.1f}"


def _per_turn(report: SessionReport, value) -> list[tuple[str, float | None, str | None]]:
    """(turn name, ``value(analysis)``, verdict) of every turn; None for a turn without an analysis."""
    out = []
    for t in report.turns:
        a: Analysis | None = t.analysis
        out.append((f"turn {t.index + 1}", value(a) if a is not None else None, a.delivery.label if a else None))
    return out


def turn_charts(report: SessionReport, settings: Settings = DEFAULTS) -> list:
    """Pace, loudness and pitch per turn against their thresholds: inline SVG (markupsafe.Markup); a chart with
    no value at all is left out."""
    pace = _per_turn(report, lambda a: a.pace.words_per_minute)
    loudness = _per_turn(report, lambda a: a.tone.loudness_delta_db)
    pitch = _per_turn(report, lambda a: a.tone.pitch_delta_st)
    charts = []
    if any(v is not None for _, v, _ in pace):
        charts.append(plots.bar_chart(pace, band=(settings.slow_wpm, settings.rushed_wpm), unit="wpm",
                                      title="Pace per turn"))
    if any(v is not None for _, v, _ in loudness):
        charts.append(plots.bar_chart(loudness, band=normal_band("loudness", settings), unit="dB",
                                      title="Loudness vs baseline", zero=True, band_note="baseline band"))
    if any(v is not None for _, v, _ in pitch):
        charts.append(plots.bar_chart(pitch, band=normal_band("pitch", settings), unit="st",
                                      title="Pitch vs baseline", zero=True, band_note="baseline band"))
    return charts


def write_html(report: SessionReport, settings: Settings = DEFAULTS) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no external requests) a coach can e-mail.
    ``settings``: the chart bands and the confidence below which a word is dimmed."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    charts = turn_charts(report, settings) if report.turns else []
    low_conf = settings.low_word_confidence_fraction
    dimmed = any(w.low_confidence(low_conf) for t in report.turns for w in t.words)
    return env.from_string(_HTML_TEMPLATE).render(r=report, fmt=_fmt, colours=STYLE_COLOURS, neutral=NEUTRAL,
                                                  charts=charts, low_conf=low_conf, dimmed=dimmed,
                                                  rough_label=ROUGH_LABEL, clock=_clock)


def write_pdf(report: SessionReport, settings: Settings = DEFAULTS) -> bytes:
    """The HTML report as a PDF, rendered by WeasyPrint (it draws the inline SVG charts and the CSS; measured
    against xhtml2pdf, which dropped the charts). Raises ReportError when WeasyPrint is not installed."""
    try:
        import weasyprint
    except ImportError:  # an optional dependency: the other formats work without it
        raise ReportError("PDF export needs WeasyPrint: pip install 'weasyprint>=62'") from None
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # it warns about every CSS property it skips
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=write_html(report, settings)).write_pdf()
