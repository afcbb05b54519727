"""One list of colours (voicerehearse.palette): every cue it colours is a cue the coaching names, the styles are
the verdict's, the stylesheet's style variables are the palette's, and no script or template lists a colour of
its own for a cue."""

from __future__ import annotations

import re
from pathlib import Path

from voicerehearse.coaching import ADVICE
from voicerehearse.labels import STYLES
from voicerehearse.palette import COMMENT_COLOUR, CUE_COLOURS, SEVERITY_COLOURS, STYLE_COLOURS, cue_colour

WEB = Path(__file__).resolve().parents[1] / "web"


def test_every_coloured_cue_is_a_known_cue_and_the_styles_are_the_verdicts():
    assert set(CUE_COLOURS) <= set(ADVICE)
    assert tuple(STYLE_COLOURS) == STYLES


def test_a_strength_is_green_and_an_unknown_cue_takes_its_severity():
    assert cue_colour("raised_voice", "info") == SEVERITY_COLOURS["info"]
    assert cue_colour("raised_voice", "problem") == CUE_COLOURS["raised_voice"]
    assert cue_colour("not_a_cue", "problem") == SEVERITY_COLOURS["problem"]


def test_the_stylesheet_variables_are_the_palettes():
    css = (WEB / "static" / "app.css").read_text(encoding="utf-8")
    found = dict(re.findall(r"--(aggr|pass|asrt|comment):\s*(#[0-9a-f]{6})", css))
    assert found == {"aggr": STYLE_COLOURS["aggressive"], "pass": STYLE_COLOURS["passive"],
                     "asrt": STYLE_COLOURS["assertive"], "comment": COMMENT_COLOUR}


def test_the_replay_script_and_templates_list_no_cue_colours():
    script = (WEB / "static" / "replay.js").read_text(encoding="utf-8")
    pages = "".join(p.read_text(encoding="utf-8") for p in (WEB / "templates").glob("*.html"))
    for colour in set(CUE_COLOURS.values()) | set(SEVERITY_COLOURS.values()):
        assert colour not in script and colour not in pages, colour
    for kind in CUE_COLOURS:
        assert kind not in script, kind
