"""Runs a practice session: prompt -> capture -> analyse -> store. Wires the stages; computes nothing itself.

The terminal (or a test) sees the session through a :class:`SessionView`; audio comes from
:func:`~voicerehearse.rehearsal.inputs.open_blocks` — the live duplex stream, optionally with recorded replies
mixed in (``--replies``). While a take records, the words and a provisional verdict are worked out beside it
(:mod:`voicerehearse.live`), so the verdict on the whole take is ready, and timed, from the moment the reply ends.
Every take is written to disk as it is captured (:mod:`voicerehearse.audio.takes`), so a crash, Ctrl-C,
a full disk or a failing device never loses more than the last fraction of a second.

One module per stage, each importing only those listed above it (tests/test_layers.py checks the order)::

    options.py      RehearsalOptions, ReplyAt: what a session runs with
    view.py         SessionView (what the user is told), NullView, Step, TurnOutcome, SessionOutcome
    storage.py      the trainee's audio folder; database and disk failures as one-line StoreErrors
    inputs.py       the duplex stream with recorded replies mixed in, playback, the live recogniser
    take.py         one take of a turn: play the line, record, analyse, store, coach
    calibration.py  the baseline read: record, check, measure, store
    recovery.py     takes left by a killed session, stored at the next start
    session.py      run_session: the conversation turn by turn, and the session's final status

Names with a leading underscore are shared between these modules only. The seams a test replaces
(``inputs.open_blocks`` as ``take.open_blocks``, ``session.start_recognition``) are not re-exported here, so a
patch must name the module that looks them up.
"""

from voicerehearse.rehearsal.calibration import CALIBRATION_PASSAGE, calibrate, check_calibration, latest_baseline
from voicerehearse.rehearsal.inputs import InputFeed, reply_file, resolve_engine
from voicerehearse.rehearsal.options import RehearsalOptions, ReplyAt
from voicerehearse.rehearsal.recovery import Recovery, recover
from voicerehearse.rehearsal.session import run_session
from voicerehearse.rehearsal.storage import trainee_folder
from voicerehearse.rehearsal.take import LiveInputs, Take
from voicerehearse.rehearsal.view import NullView, SessionOutcome, SessionView, Step, TurnOutcome

__all__ = [
    "CALIBRATION_PASSAGE", "InputFeed", "LiveInputs", "NullView", "Recovery", "RehearsalOptions", "ReplyAt",
    "SessionOutcome", "SessionView", "Step", "Take", "TurnOutcome", "calibrate", "check_calibration",
    "latest_baseline", "recover", "reply_file", "resolve_engine", "run_session", "trainee_folder",
]
