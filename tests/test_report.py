"""Report writers over one report object: JSON (analysis schema), WebVTT, self-contained HTML; `voicerehearse report`."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from test_web import make_take
from voicerehearse.cli.serve import report as report_cmd
from voicerehearse.report import (WRITERS, ReportError, estimate_word_times, get_writer, load_report, render,
                                  vtt_time)
from voicerehearse.store import Comment, Store, Turn
from voicerehearse.web.ingest import add_session


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    take = make_take(base / "take")
    store = Store.open(base / "data")
    sid = add_session(store, trainee="Dana & <Co>", scenario_id="late_fee", scenario_title="Late-fee --> waiver",
                      source="practice", turns=[take, take])
    with store.session() as db:
        turn = db.query(Turn).filter_by(session_id=sid, index=0).one()
        turn.comments.append(Comment(start_s=2.7, end_s=3.4, text="<script>alert(1)</script>\n\nLet them --> finish"))
        db.commit()
    return store, sid, take


def test_registry_names_every_writer():
    assert sorted(WRITERS) == ["html", "json", "pdf", "vtt"]
    assert get_writer("vtt").mimetype == "text/vtt"
    with pytest.raises(ReportError, match="unknown report format 'docx'"):
        get_writer("docx")


def test_json_keeps_the_analysis_records(stored):
    store, sid, take = stored
    body = json.loads(render(load_report(store, sid), "json"))
    assert body["schema"] == "voicerehearse.report/1"
    assert body["session"]["trainee"] == "Dana & <Co>"
    assert [t["index"] for t in body["turns"]] == [0, 1]
    assert body["turns"][0]["analysis"] == take["record"]
    assert body["turns"][0]["comments"][0]["start_s"] == 2.7


def test_vtt_is_valid_webvtt(stored):
    store, sid, take = stored
    text = render(load_report(store, sid), "vtt")
    assert text.startswith("WEBVTT\n\n")
    blocks = text.strip().split("\n\n")
    cues = [b for b in blocks if "-->" in b]
    notes = [b for b in blocks if b.startswith("NOTE")]
    for block in notes:  # NOTE blocks: one line each here, never '-->', never a blank line inside
        assert "-->" not in block and "\n" not in block
    timing = re.compile(r"^\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d$")
    for cue in cues:
        lines = cue.split("\n")
        assert timing.match(lines[1]), cue
        assert "<" not in lines[2]
    assert cues[0].split("\n")[2].startswith("calm down")
    # the second turn is laid after the first one
    duration = take["record"]["duration_s"]
    second = [c for c in cues if c.startswith("turn2-")][0]
    assert second.split("\n")[1].startswith(vtt_time(duration + 2.6))
    assert any("flag problem interruption" in n for n in notes)
    assert any(n.startswith("NOTE comment 00:00:02.700 to 00:00:03.400") for n in notes)


def test_html_is_self_contained_and_escaped(stored):
    store, sid, take = stored
    page = render(load_report(store, sid), "html")
    assert page.startswith("<!doctype html>")
    assert page.count(f'{100 * take["record"]["delivery"]["confidence"]:.0f} % sure</small>') == 2  # by each verdict
    assert "<script" not in page  # no scripts at all, and the comment's markup is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Dana &amp; &lt;Co&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no external requests
    assert "<link" not in page and "@import" not in page
    assert "aggressive" in page and "Talked over the customer" in page


def test_estimated_word_times_follow_the_segments():
    words = estimate_word_times(["one", "two", "three", "four"], [(1.0, 2.0), (3.0, 4.0)])
    assert words[0].start == 1.0 and words[-1].end == 4.0
    assert all(w.estimated for w in words)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:]))
    assert not any(1.999 < w.start < 2.999 for w in words)  # no word starts inside the gap


def test_report_command_writes_each_format(stored, tmp_path):
    store, sid, _ = stored
    runner = CliRunner()
    import importlib.util

    for fmt in WRITERS:
        if fmt == "pdf" and importlib.util.find_spec("weasyprint") is None:
            continue  # the optional renderer is not installed here
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(report_cmd, [str(sid), "--format", fmt, "-o", str(out), "--data-dir", str(store.data_dir)])
        assert result.exit_code == 0, result.output
        if fmt == "pdf":  # rendered again: its timestamps differ, its kind does not
            assert out.read_bytes().startswith(b"%PDF")
            continue
        assert out.read_text(encoding="utf-8") == render(load_report(store, sid), fmt)
    result = runner.invoke(report_cmd, [str(sid), "--format", "vtt", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 0 and result.output.startswith("WEBVTT")


def test_report_command_unknown_session_is_one_clear_line(stored):
    store, _, _ = stored
    result = CliRunner().invoke(report_cmd, ["999", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 1 and "no session 999" in result.output
    assert "Traceback" not in result.output


def test_language_cues_in_untimed_text_are_placed_on_estimated_word_times():
    from voicerehearse.report import turn_report

    from records import Flag, record as stored

    record = stored(
        duration_s=5.0, words=[(w, None, None, None) for w in "Calm down. Fine, just this once.".split()],
        segments=[(1.0, 4.0)],
        flags=[Flag("dismissive", "warning", None, None,
                    "\u201ccalm down\u201d: Dismissing the customer's feelings escalates the conflict."),
               Flag("ultimatum", "warning", None, None, "\u201cjust this once\u201d: First-person ultimatums ..."),
               Flag("blame", "warning", None, None, "\u201cyour fault\u201d: not in the words")])
    turn = turn_report(1, 0, None, "audio/x.wav", record)
    dismissive, ultimatum, blame = turn.flags
    assert dismissive.estimated and dismissive.start == 1.0 and dismissive.end < ultimatum.start
    assert ultimatum.estimated and ultimatum.end == 4.0
    assert blame.start is None and not blame.estimated


def _labelled_report():
    from voicerehearse.report import SessionReport, turn_report
    from voicerehearse.transcribe.sphinx_engine import FALLBACK_NOTE, MODEL

    from records import record as stored

    def record(engine, model, note, words):
        return stored(duration_s=4.0, segments=[(0.5, 3.5)], engine=engine, model=model, note=note,
                      words=[(w, 0.5 + i, 1.2 + i, c) for i, (w, c) in enumerate(words)])

    rough = turn_report(1, 0, None, "a.wav", record("pocketsphinx", MODEL, FALLBACK_NOTE,
                                                    [("on", 0.9), ("august", 0.2), ("dead", 0.95)]))
    good = turn_report(2, 1, None, "b.wav", record("vosk", "vosk-model-small-en-us-0.15", None,
                                                   [("i", 1.0), ("understand", 0.3)]))
    return SessionReport(id=7, trainee="Dana", scenario_id="s", scenario_title="S", source="practice",
                         started_at=None, turns=(rough, good)), FALLBACK_NOTE


class _Html(__import__("html.parser").parser.HTMLParser):
    """Element classes and their text, in document order."""

    def __init__(self):
        super().__init__()
        self.items, self._open = [], []

    def handle_starttag(self, tag, attrs):
        self._open.append([dict(attrs).get("class") or "", ""])

    def handle_endtag(self, tag):
        if self._open:
            cls, text = self._open.pop()
            self.items.append((cls, text.strip()))
            if self._open:
                self._open[-1][1] += text

    def handle_data(self, data):
        if self._open:
            self._open[-1][1] += data


def test_rough_transcripts_are_labelled_in_html_vtt_and_json():
    report, note = _labelled_report()
    parser = _Html()
    parser.feed(render(report, "html"))
    labels = [text for cls, text in parser.items if cls == "rough-label"]
    assert len(labels) == 1 and note in labels[0]  # the fallback turn only
    replies = [(cls, text) for cls, text in parser.items if cls.startswith("reply")]
    assert replies[0][0] == "reply rough" and "(rough transcript)" in replies[0][1]
    assert replies[1][0] == "reply" and "rough" not in replies[1][1]
    assert [t for c, t in parser.items if c == "low-conf"] == ["august", "understand"]  # conf < 0.5: dimmed
    sources = [t for c, t in parser.items if c == "meta" and t.startswith("Transcript:")]
    assert sources == ["Transcript: pocketsphinx (pocketsphinx-en-us (bundled))",
                       "Transcript: vosk (vosk-model-small-en-us-0.15)"]

    blocks = render(report, "vtt").split("\n\n")
    cues = [b.splitlines() for b in blocks if "-->" in b and not b.startswith("NOTE")]
    turn1 = [c[2] for c in cues if c[0].startswith("turn1-")]
    turn2 = [c[2] for c in cues if c[0].startswith("turn2-")]
    assert turn1 and all(text.startswith("[rough] ") for text in turn1)
    assert turn2 and not any("[rough]" in text for text in turn2)
    notes = [b for b in blocks if b.startswith("NOTE transcript turn 1")]
    assert len(notes) == 1 and "pocketsphinx" in notes[0] and "Rough fallback transcript" in notes[0]

    body = json.loads(render(report, "json"))
    assert [t["transcript"]["rough"] for t in body["turns"]] == [True, False]
    assert body["turns"][0]["transcript"]["label"] == note and body["turns"][1]["transcript"]["label"] is None


def test_low_confidence_threshold_is_a_setting(monkeypatch, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("low_word_confidence_fraction = 0.1\n")
    monkeypatch.setenv("VOICEREHEARSE_CONFIG", str(config))
    from voicerehearse.settings import load_settings

    report, _ = _labelled_report()
    parser = _Html()
    parser.feed(render(report, "html", load_settings()))  # the edge loads the settings and hands them down
    assert [t for c, t in parser.items if c == "low-conf"] == []


def test_pdf_writer_renders_the_html_report_with_its_charts():
    weasyprint = pytest.importorskip("weasyprint")
    from voicerehearse.report import SessionReport, write_html

    report = SessionReport(id=1, trainee="Dana", scenario_id="late_fee", scenario_title="Late fee", source="demo",
                           started_at=None, turns=())
    pdf = WRITERS["pdf"].write(report)
    assert pdf.startswith(b"%PDF") and WRITERS["pdf"].mimetype == "application/pdf"
    assert len(weasyprint.HTML(string=write_html(report)).render().pages) == 1


def test_a_turn_holds_the_typed_analysis_and_no_field_of_it_again(stored):
    import dataclasses

    from voicerehearse.report import TurnReport
    from voicerehearse.schema import analysis_from_record
    from voicerehearse.types import Analysis, PaceMetrics, ToneMetrics, TurnTiming, Verdict

    store, sid, take = stored
    turn = load_report(store, sid).turns[0]
    assert turn.analysis == analysis_from_record(take["record"])
    mine = {f.name for f in dataclasses.fields(TurnReport)}
    theirs = {f.name for kind in (Analysis, PaceMetrics, ToneMetrics, TurnTiming, Verdict)
              for f in dataclasses.fields(kind)}
    assert mine & theirs == {"flags"}  # the analysis' flags placed for display (PlacedFlag), not a copy
    assert [(f.kind, f.start) for f in turn.flags] == [(f.kind, f.start) for f in turn.analysis.flags]


def test_an_error_record_is_a_turn_without_analysis_that_says_why():
    from voicerehearse.errors import AudioFormatError
    from voicerehearse.report import SessionReport, turn_report
    from voicerehearse.schema import error_record

    turn = turn_report(1, 0, "Hello?", "a.wav", error_record("a.wav", AudioFormatError("no audio in the file")))
    assert turn.analysis is None and turn.error == "no audio in the file" and turn.words == turn.flags == ()
    report = SessionReport(id=2, trainee="D", scenario_id="s", scenario_title="S", source="practice", started_at=None,
                           turns=(turn,))
    assert "Not analysed: no audio in the file" in render(report, "html")
    assert "NOTE turn 1: verdict not analysed" in render(report, "vtt")


def test_the_cli_offers_exactly_the_registered_formats():
    choice = next(p for p in report_cmd.params if p.name == "fmt").type
    assert list(choice.choices) == sorted(WRITERS)


def test_the_views_read_no_raw_record():
    from pathlib import Path

    from voicerehearse.schema import _SECTIONS

    web = Path(__file__).resolve().parents[1] / "web"
    sections = (*_SECTIONS, "redaction", "call_transcript", "practice")
    for name in ("replay.py", "contour.py", "exports.py", "templates/session.html", "templates/_macros.html"):
        text = (web / name).read_text(encoding="utf-8")
        reads = [f'{how}{q}{s}{q}' for s in sections for q in "\"'" for how in (".get(", "[")]
        assert not [r for r in reads if r in text], name  # e.g. .get("tone"), ["stereo"]
        assert ".record" not in text, name
