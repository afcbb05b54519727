"""The speech recognisers by name: the only list of them. Imports nothing, so every CLI option can read it.

>>> engine_choices(none=True)
('auto', 'vosk', 'pocketsphinx', 'none')
>>> sorted(ROUGH)
['pocketsphinx']
"""

RECOGNISERS = ("vosk", "pocketsphinx")  # real recognisers, best first
ROUGH = frozenset({"pocketsphinx"})  # their words are a rough guess: labelled wherever shown, never judged
AUTO = "auto"  # Vosk when a model resolves, else the rough fallback
NONE = "none"  # no words: acoustic analysis only


def engine_choices(*, none: bool = False, fallback: bool = True) -> tuple[str, ...]:
    """What an ``--engine`` option accepts: ``auto``, each recogniser (``fallback=False`` leaves out the rough
    ones, for choosing explicitly), and ``none`` when acoustic-only makes sense."""
    named = tuple(r for r in RECOGNISERS if fallback or r not in ROUGH)
    return (AUTO, *named) + ((NONE,) if none else ())
