"""One report object per practice session, and a registry of writers over it: ``json``, ``vtt``, ``html``, ``pdf``.

The stored analysis records are parsed once into the typed :class:`~voicerehearse.types.Analysis` of each turn
(:mod:`voicerehearse.report_model`); the web pages and every writer read those. The modules behind this one:

- :mod:`voicerehearse.report_model`: SessionReport, TurnReport and what the report adds to each analysis;
- :mod:`voicerehearse.report_build`: a stored session (store rows) as a SessionReport;
- :mod:`voicerehearse.report_formats`: the writers by name (import-free, for the CLI's choices);
- :mod:`voicerehearse.report_text` (json, vtt) and :mod:`voicerehearse.report_html` (html, pdf).

>>> report = SessionReport(id=1, trainee="Dana", scenario_id="late_fee", scenario_title="Late fee",
...                        source="demo", started_at=None, turns=())
>>> sorted(WRITERS)
['html', 'json', 'pdf', 'vtt']
>>> render(report, "vtt").splitlines()[0]
'WEBVTT'
"""

from __future__ import annotations

from voicerehearse.report_build import author_names, comment_view, load_report, replies_of, session_report
from voicerehearse.report_formats import WRITERS, Writer, get_writer, render
from voicerehearse.report_html import turn_charts, write_html, write_pdf
from voicerehearse.report_model import (REPORT_SCHEMA, ROUGH_LABEL, ROUGH_TAG, CallLine, CommentView, PlacedFlag,
                                        Redaction, ReportError, SessionReport, TurnReport, WordView, call_lines,
                                        display_words, estimate_word_times, place_phrase, turn_report)
from voicerehearse.report_text import vtt_time, write_json, write_vtt

__all__ = ["REPORT_SCHEMA", "ROUGH_LABEL", "ROUGH_TAG", "CallLine", "CommentView", "PlacedFlag", "Redaction",
           "ReportError", "SessionReport", "TurnReport", "WordView", "WRITERS", "Writer", "author_names",
           "call_lines", "comment_view", "display_words", "estimate_word_times", "get_writer", "load_report",
           "place_phrase", "render", "replies_of", "session_report", "turn_charts", "turn_report", "vtt_time",
           "write_html", "write_json", "write_pdf", "write_vtt"]
