"""The colours of the coach's views, each listed once: the three styles, the severities, every cue kind, and the
marks for comments and the customer's line. The replay page gets them from the server (each event's colour in
the page data and on its element), the HTML report and the charts read them here; no script lists one.

Imports nothing, so any layer can read it.

>>> cue_colour("interruption", "problem"), cue_colour("empathy", "info"), cue_colour("new_cue", "warning")
('#c53030', '#2f855a', '#d69e2e')
"""

STYLE_COLOURS = {"aggressive": "#c53030", "passive": "#b7791f", "assertive": "#2f855a"}  # the verdict's styles
NEUTRAL = "#7b8794"  # no verdict ("not analysed", "no speech")
SEVERITY_COLOURS = {"problem": "#c53030", "warning": "#d69e2e", "info": "#2f855a"}  # info: a strength
UNKNOWN = "#718096"  # a severity this table does not know
COMMENT_COLOUR = "#3182ce"  # a coach's comment on the waveform
PROMPT_COLOUR = "#a0aec0"  # the customer's line on the waveform

# the cues that argue against the assertive style (coaching.ADVICE names them all), told apart on the waveform;
# a cue of the assertive style is always drawn in the strength colour
CUE_COLOURS = {
    "interruption": "#c53030", "rushed": "#dd6b20", "raised_voice": "#e53e3e", "raised_pitch": "#d53f8c",
    "vocal_effort": "#9b2c2c", "ultimatum": "#97266d", "blame": "#c05621", "dismissive": "#b83280",
    "long_latency": "#d69e2e", "slow": "#b7791f", "soft_voice": "#ecc94b",
    "lowered_pitch": "#975a16", "monotone": "#a0aec0", "low_effort": "#c4a35a", "repeated_apology": "#d69e2e",
    "tense_voice": "#c2410c", "harsh_timbre": "#be123c", "breathy_voice": "#d4b483", "dull_timbre": "#b8a06a",
    "hedge": "#c8a84b", "apology": "#d69e2e", "give_in": "#b7791f",
}


def cue_colour(kind: str, severity: str) -> str:
    """The colour of one event: a strength in the strength colour, else its cue's own, else its severity's."""
    if severity == "info":
        return SEVERITY_COLOURS["info"]
    return CUE_COLOURS.get(kind) or SEVERITY_COLOURS.get(severity) or UNKNOWN


def style_colour(label: str | None) -> str:
    """``>>> style_colour("passive")`` gives ``'#b7791f'``; anything else the neutral grey."""
    return STYLE_COLOURS.get(label or "", NEUTRAL)


def page_colours() -> dict:
    """What the replay page's script needs beyond each event's own colour (in the page's JSON data)."""
    return {"comment": COMMENT_COLOUR, "prompt": PROMPT_COLOUR}
