"""Who speaks when: turn timing against a known customer prompt (with bleed rejection) and two-channel calls.

Bleed: when the prompt plays through speakers the mic hears it too, quieter, later and filtered. The prompt
signal is known, so its delay is found by cross-correlation, its level at the mic by a robust gain fit,
and a frame only counts as the trainee when the mic is ``bleed_margin_db`` louder than the predicted bleed.

Crosstalk: in a two-channel call each side's channel often carries the other side too (echo, a shared
handset at once, a line echo later), quieter. How much and how late is measured on the frames where the other
side speaks, and a frame is a side's own speech only when it is ``crosstalk_margin_db`` above what leaks in as it
arrives. Two channels carrying the same sound are not a two-channel call at all: that is an error, not a call full
of talk-overs.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace

import numpy as np

from voicerehearse.analysis.frames import Framed, active_mask, frame_power, level_threshold, mask_to_spans
from voicerehearse.errors import ConfigError
from voicerehearse.levels import FLOOR_DB, power_db
from voicerehearse.settings import Settings
from voicerehearse.types import (Interruption, SideMetrics, Span, SpeechActivity, StereoMetrics, TalkOver, Transcript,
                                 TurnTiming)

_TINY_POWER = 10 ** (FLOOR_DB / 10)  # digital silence
_BLEED_SPREAD_FRAMES = (2, 6)  # predicted bleed is held this many frames before/after (timing slack, room tail)


@dataclass(frozen=True)
class Bleed:
    """The prompt as the mic heard it."""

    detected: bool
    gain_db: float | None
    delay_s: float | None
    power: np.ndarray = field(repr=False)  # (n_frames,) predicted bleed power on the recording's grid


def _find_delay(y: np.ndarray, prompt: np.ndarray, start: int, max_delay: int) -> tuple[int, float]:
    """Lag (samples, 0..max_delay) where ``prompt`` best matches ``y`` after ``start``, and its normalised correlation."""
    seg = y[max(start, 0) : start + prompt.shape[0] + max_delay].astype(np.float64)
    if seg.shape[0] < prompt.shape[0] // 2 or not np.any(prompt):
        return 0, 0.0
    nfft = 1 << int(np.ceil(np.log2(seg.shape[0] + prompt.shape[0])))
    corr = np.fft.irfft(np.fft.rfft(seg, nfft) * np.conj(np.fft.rfft(prompt.astype(np.float64), nfft)), nfft)
    lags = min(max_delay, seg.shape[0] - 1) + 1
    csum = np.concatenate([[0.0], np.cumsum(seg * seg)])
    win = np.minimum(np.arange(lags) + prompt.shape[0], seg.shape[0])
    seg_energy = csum[win] - csum[np.arange(lags)]
    norm = np.sqrt(np.maximum(seg_energy, 1e-20) * float(np.dot(prompt, prompt)))
    rho = corr[:lags] / norm
    lag = int(np.argmax(rho))
    return lag, float(rho[lag])


def _hold(power: np.ndarray, before: int, after: int) -> np.ndarray:
    """Running maximum over [i - before, i + after]: predicted bleed tolerant to timing and room tail."""
    padded = np.concatenate([np.zeros(after), power, np.zeros(before)])
    view = np.lib.stride_tricks.sliding_window_view(padded, before + after + 1)
    return view.max(axis=1)[: power.shape[0]]


def _placed_power(rec: Framed, prompt: np.ndarray, offset: int) -> np.ndarray:
    """Frame power, on the recording's grid, of the prompt alone placed at sample ``offset``: (n_frames,), zero
    away from it. Only the frames the prompt reaches are computed, on a short local copy."""
    hop, length, n = rec.hop_length, rec.frame_length, rec.n_samples
    pad_left = (length - hop) // 2
    m = min(prompt.shape[0], n - offset)
    power = np.zeros(rec.n_frames)
    if m <= 0:
        return power
    first = max(0, (offset + pad_left - length) // hop)  # frames before this one end before the prompt starts
    stop = min(rec.n_frames, (offset + m + pad_left) // hop + 1)  # ...and from this one on start after it ends
    local = np.zeros((stop - first) * hop + 2 * length, np.float32)  # local[0] is sample first * hop
    local[offset - first * hop : offset - first * hop + m] = prompt[:m]
    power[first:stop] = frame_power(local, sr=rec.sr, frame_length=length, hop_length=hop).power[: stop - first]
    return power


def estimate_bleed(rec: Framed, *, prompt: np.ndarray, prompt_start_s: float, settings: Settings) -> Bleed:
    """Model the prompt's bleed into the recording ``rec``; ``prompt`` is at ``rec.sr``. Reads only the stretch
    of the recording the prompt can be heard in (its length plus the longest delay searched)."""
    start = int(round(prompt_start_s * rec.sr))
    max_delay = int(settings.bleed_max_delay_s * rec.sr)
    heard = rec.read(start, min(start + prompt.shape[0] + max_delay, rec.n_samples))  # recording from ``start``
    lag, rho = _find_delay(heard, prompt, 0, max_delay)
    if rho < settings.bleed_min_correlation:
        return Bleed(False, None, None, np.zeros(rec.n_frames))
    p_power = _placed_power(rec, prompt, start + lag)
    # least squares on the aligned samples is blind to the trainee's (uncorrelated) voice but misses filtering;
    # the median power ratio catches filtering but not barge-in: take the median over frames the LS fit can explain.
    m = max(0, min(prompt.shape[0], heard.shape[0] - lag))
    placed = prompt[:m]
    ls_gain2 = (float(np.dot(heard[lag : lag + m].astype(np.float64), placed))
                / max(float(np.dot(placed, placed)), 1e-20)) ** 2
    loud = p_power > p_power.max() * 10 ** (-20 / 10)
    ratio = rec.power[loud] / p_power[loud]
    plausible = ratio[ratio <= 4.0 * ls_gain2]
    gain2 = float(np.median(plausible)) if plausible.size else ls_gain2
    predicted = gain2 * _hold(p_power, *_BLEED_SPREAD_FRAMES)
    return Bleed(True, power_db(gain2), lag / rec.sr, predicted)


def trainee_mask(rec: Framed, *, bleed: Bleed, settings: Settings) -> np.ndarray:
    """Frames where the trainee speaks: loud enough to be speech and well above the predicted bleed."""
    own = rec.power > bleed.power * 10 ** (settings.bleed_margin_db / 10)
    db = rec.db
    # the loud end of the trainee's own speech sets the silence threshold, not the bleed
    peak = float(np.percentile(db[own] if own.any() else db, 99))
    threshold = level_threshold(db, below_peak_db=settings.silence_below_peak_db, floor_dbfs=settings.speech_floor_dbfs,
                                noise_margin_db=settings.noise_margin_db, peak_db=peak)
    return own & (db > threshold)


def prompt_speech(prompt: np.ndarray, *, sr: int, frame_length: int, hop_length: int,
                  settings: Settings) -> Span | None:
    """Where the customer speaks in the clean prompt clip ``prompt`` ((n,) samples), in the clip's own time.

    The prompt is known in advance and clean, so its bounds are found on it alone, never on the mixture: frames
    within ``prompt_end_below_peak_db`` of its loudest frame. A soft last syllable still belongs to the
    customer's line, however loud the rest is. None when the clip holds no sound.

    >>> from voicerehearse.settings import DEFAULTS
    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> y = np.concatenate([np.zeros(sr // 2), 0.3 * np.sin(2 * np.pi * 200 * t), np.zeros(sr // 2)])
    >>> y[sr + sr // 4 : sr + sr // 2] *= 0.1  # the last quarter second 20 dB softer
    >>> span = prompt_speech(y, sr=sr, frame_length=512, hop_length=160, settings=DEFAULTS)
    >>> round(span.start, 2), round(span.end, 2)
    (0.48, 1.51)
    """
    framed = frame_power(prompt, sr=sr, frame_length=frame_length, hop_length=hop_length)
    if not np.any(framed.power > _TINY_POWER):
        return None
    db = framed.db
    loud = db > float(db.max()) - settings.prompt_end_below_peak_db
    spans = mask_to_spans(loud, framed.hop_s, min_gap_s=settings.min_pause_s, min_len_s=settings.min_speech_segment_s)
    return Span(spans[0].start, spans[-1].end) if spans else None


def turn_timing(rec: Framed, *, activity: SpeechActivity, prompt: np.ndarray, prompt_start_s: float, bleed: Bleed,
                settings: Settings) -> TurnTiming:
    """Prompt end, reply start, latency and barge-in interruptions of the trainee ``activity`` (bleed removed).

    ``prompt`` is the clean prompt at ``rec.sr``, played from ``prompt_start_s``; its speech bounds come from it
    alone (:func:`prompt_speech`), cut to the recording's length.
    """
    span = prompt_speech(prompt, sr=rec.sr, frame_length=rec.frame_length, hop_length=rec.hop_length,
                         settings=settings)
    rec_end = rec.duration_s
    if span is not None and prompt_start_s + span.start < rec_end:
        p_start, p_end = prompt_start_s + span.start, min(prompt_start_s + span.end, rec_end)
    else:
        p_start = p_end = prompt_start_s
    interruptions = []
    for seg in activity.segments:
        lo, hi = max(seg.start, p_start), min(seg.end, p_end)
        if hi - lo >= settings.barge_in_min_s - 1e-9:
            interruptions.append(Interruption(round(lo, 3), round(hi, 3), round(hi - lo, 3)))
    replies = [s for s in activity.segments if s.end > prompt_start_s and s.duration_s >= settings.barge_in_min_s]
    reply_start = replies[0].start if replies else None
    return TurnTiming(
        prompt_start_s=round(prompt_start_s, 3),
        prompt_end_s=round(p_end, 3),
        reply_start_s=reply_start,
        response_latency_s=None if reply_start is None else round(reply_start - p_end, 3),
        interrupted=bool(interruptions),
        interruptions=tuple(interruptions),
        bleed_detected=bleed.detected,
        bleed_gain_db=None if bleed.gain_db is None else round(bleed.gain_db, 2),
        bleed_delay_s=None if bleed.delay_s is None else round(bleed.delay_s, 4),
    )


def words_in_speech(transcript: Transcript, segments: tuple[Span, ...], *, tolerance_s: float = 0.1) -> Transcript:
    """Keep the timed words whose middle falls inside the trainee's speech: a recogniser run on the mic also
    hears the customer's bleed, and those words are not the trainee's. Untimed transcripts pass unchanged."""
    if not transcript.timed:
        return transcript
    kept = tuple(w for w in transcript.words
                 if any(s.start - tolerance_s <= (w.start + w.end) / 2 <= s.end + tolerance_s for s in segments))
    if len(kept) == len(transcript.words):
        return transcript
    return replace(transcript, words=kept, text=" ".join(w.word for w in kept))


def _talk_overs(a: str, a_segs, b: str, b_segs, min_s: float) -> list[TalkOver]:
    """Times ``b`` started speaking while ``a`` was speaking, overlapping at least ``min_s``.

    Segments of one side are sorted and disjoint, so each start is looked up by bisection: O(n log n).
    """
    found = []
    a_starts = [o.start for o in a_segs]
    for seg in b_segs:
        k = bisect.bisect_left(a_starts, seg.start) - 1  # the last of a's segments starting before seg
        if k >= 0 and seg.start < a_segs[k].end:
            end = min(a_segs[k].end, seg.end)
            if end - seg.start >= min_s - 1e-9:
                found.append(TalkOver(seg.start, end, round(end - seg.start, 3), b, a))
    return found


def _longest_monologue(own: tuple[Span, ...], other: tuple[Span, ...], gap_s: float) -> float:
    longest, current = 0.0, None
    other_starts = [o.start for o in other]
    ends_so_far = np.maximum.accumulate([o.end for o in other]) if other else ()  # latest end among a prefix
    for seg in own:
        if current is not None:
            k = bisect.bisect_left(other_starts, seg.start)  # other's segments starting before seg: [0, k)
            answered = k > 0 and ends_so_far[k - 1] > current.end
            if seg.start - current.end < gap_s and not answered:
                current = Span(current.start, seg.end)
            else:
                current = seg
        else:
            current = seg
        longest = max(longest, current.duration_s)
    return round(longest, 3)


_LEAK_TOLERANCE_DB = 3.0  # a crosstalk holds the other side at a steady level: its frames lie this close ...
_LEAK_MIN_SHARE = 1 / 3  # ... for at least this share of the other side's speech (two talkers at once do not)
_LAG_SEARCH_FRAMES = 20_000  # the delay is found on at most this many of the source's speech frames, evenly spread
_DELAY_MIN_GAIN = 0.1  # a delay is taken over none only when this much more of the frames hold steady at it


@dataclass(frozen=True)
class Crosstalk:
    """The other side as one channel carries it: how loud against its own channel, and how late."""

    db: float  # 0 = the same sound
    delay_s: float


def crosstalk(into: Framed, source: Framed, source_speaks: np.ndarray, *, settings: Settings) -> Crosstalk | None:
    """How loud and how late the speech of ``source`` is in the channel ``into`` (a shared handset: at once; a
    line echo: tens to hundreds of ms later), or None when there is no steady crosstalk to measure.

    For each delay up to ``crosstalk_max_delay_s`` (one frame hop apart) the level difference is taken over the
    frames ``source_speaks``; its 25th percentile is the leak (the low percentile keeps frames where ``into``'s own
    talker speaks at the same time out of it; when ``into``'s noise floor lies above the leak it gives that
    floor). A delay counts only when a third of those frames lie within 3 dB of its leak (a crosstalk follows
    its source syllable by syllable, two people talking at once do not); the steadiest delay wins.

    >>> from voicerehearse.analysis.frames import frame_power
    >>> from voicerehearse.settings import DEFAULTS
    >>> rng = np.random.default_rng(0)
    >>> talk = (rng.standard_normal(16000) * 0.1 * np.sin(np.linspace(0, 20, 16000)) ** 2).astype(np.float32)
    >>> echo = np.concatenate([np.zeros(1280, np.float32), 0.1 * talk[:-1280]])  # 20 dB down, 80 ms late
    >>> a = frame_power(echo, sr=16000, frame_length=512, hop_length=160)
    >>> b = frame_power(talk, sr=16000, frame_length=512, hop_length=160)
    >>> found = crosstalk(a, b, b.db > -60, settings=DEFAULTS)
    >>> round(found.db), found.delay_s
    (-20, 0.08)
    """
    max_lag = round(settings.crosstalk_max_delay_s / source.hop_s)
    return _leak(into.db, source.db, source_speaks, max_lag, source.hop_s)


def _delayed(db: np.ndarray, lag: int) -> np.ndarray:
    """``db`` ``lag`` frames later: frame t holds frame t - lag (digital silence before the start)."""
    if lag == 0:
        return db
    out = np.full_like(db, FLOOR_DB)
    out[lag:] = db[:-lag]
    return out


def _leak(into_db: np.ndarray, source_db: np.ndarray, source_speaks: np.ndarray, max_lag: int, hop_s: float
          ) -> Crosstalk | None:
    speaks = np.flatnonzero(source_speaks)
    if not speaks.size:
        return None
    sample = speaks[:: max(1, speaks.size // _LAG_SEARCH_FRAMES)]  # the delay search on an even subset
    shares = []  # per delay in frames: the share of frames within the tolerance of its leak
    for lag in range(min(max_lag, into_db.size - 1) + 1):
        at = sample[sample + lag < into_db.size]
        d = into_db[at + lag] - source_db[at]
        shares.append(float(np.mean(np.abs(d - np.percentile(d, 25)) <= _LEAK_TOLERANCE_DB)) if d.size else 0.0)
    lag = int(np.argmax(shares))  # the steadiest; at once unless a delay is clearly steadier (a periodic voice
    if shares[lag] < shares[0] + _DELAY_MIN_GAIN:  # repeats itself one syllable later)
        lag = 0
    if shares[lag] < _LEAK_MIN_SHARE:
        return None
    at = speaks[speaks + lag < into_db.size]  # the level on every speech frame at the found delay
    return Crosstalk(float(np.percentile(into_db[at + lag] - source_db[at], 25)), round(lag * hop_s, 3))


def call_speech_masks(agent: Framed, customer: Framed, settings: Settings, *, name: str = "the call"
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Frames where each side speaks in its own channel: speech by level, and ``crosstalk_margin_db`` louder than
    the other side's steady crosstalk (:func:`crosstalk`) as it arrives, however loud and up to
    ``crosstalk_max_delay_s`` late: an agent channel that records both sides keeps only the agent, a line echo is
    not a talk-over. Raises ConfigError when the two channels carry the same sound (each holds the other at
    ``same_sound_crosstalk_db`` or louder): a mono recording saved as two channels.

    >>> from voicerehearse.analysis.frames import frame_power
    >>> from voicerehearse.settings import DEFAULTS
    >>> t = np.arange(32000) / 16000
    >>> agent_talk = 0.1 * np.sin(2 * np.pi * 130 * t) * (t < 1.0)
    >>> customer_talk = 0.1 * np.sin(2 * np.pi * 210 * t) * np.sin(np.pi * 3 * t) ** 2 * (t >= 1.0)
    >>> frames = lambda y: frame_power(y.astype(np.float32), sr=16000, frame_length=512, hop_length=160)
    >>> agent, customer = frames(agent_talk + 0.7 * customer_talk), frames(customer_talk)  # both in one channel
    >>> a, c = call_speech_masks(agent, customer, DEFAULTS)
    >>> round(float(a.mean()) * 2, 1), round(float(a[100:].mean()), 1)  # the agent's own second only
    (1.0, 0.0)
    """
    def by_level(db: np.ndarray) -> np.ndarray:
        return active_mask(db, below_peak_db=settings.silence_below_peak_db, floor_dbfs=settings.speech_floor_dbfs,
                           noise_margin_db=settings.noise_margin_db)[0]

    agent_db, customer_db = agent.db, customer.db  # each computed once: a 3-hour call has a million frames
    agent_speaks, customer_speaks = by_level(agent_db), by_level(customer_db)
    max_lag = round(settings.crosstalk_max_delay_s / agent.hop_s)
    into_agent = _leak(agent_db, customer_db, customer_speaks, max_lag, agent.hop_s)
    into_customer = _leak(customer_db, agent_db, agent_speaks, max_lag, agent.hop_s)
    loud = settings.same_sound_crosstalk_db
    if into_agent is not None and into_customer is not None and min(into_agent.db, into_customer.db) > loud:
        raise ConfigError(f"{name}: the two channels carry the same sound (each holds the other at "
                          f"{round(min(into_agent.db, into_customer.db), 1) + 0.0:+.1f} dB), so they are not the "
                          f"agent and the customer apart: leave out the stereo layout", field="stereo")

    def own_only(mask: np.ndarray, own_db: np.ndarray, other_db: np.ndarray, leak: Crosstalk | None) -> np.ndarray:
        if leak is None:
            return mask
        arriving = _delayed(other_db, round(leak.delay_s / agent.hop_s))  # the other side as it reaches this one
        return mask & (own_db > arriving + (leak.db + settings.crosstalk_margin_db))

    return (own_only(agent_speaks, agent_db, customer_db, into_agent),
            own_only(customer_speaks, customer_db, agent_db, into_customer))


def stereo_metrics(sides: dict[str, tuple[int, SpeechActivity]], *, settings: Settings, agent: str = "agent",
                   customer: str = "customer") -> StereoMetrics:
    """Per-side speaking time, talk ratio and longest monologue; talk-overs (who interrupted whom);
    patience: the gaps before the agent answers the customer.

    ``sides`` maps a side name to (channel index, its speech activity); exactly two sides.
    """
    (name_a, (ch_a, act_a)), (name_b, (ch_b, act_b)) = sides.items()
    total = act_a.speaking_time_s + act_b.speaking_time_s
    metrics = tuple(
        SideMetrics(name, ch, act.speaking_time_s, round(act.speaking_time_s / total, 4) if total else None,
                    _longest_monologue(act.segments, other.segments, settings.monologue_gap_s), act.segments)
        for name, ch, act, other in ((name_a, ch_a, act_a, act_b), (name_b, ch_b, act_b, act_a))
    )
    overs = _talk_overs(name_a, act_a.segments, name_b, act_b.segments, settings.barge_in_min_s)
    overs += _talk_overs(name_b, act_b.segments, name_a, act_a.segments, settings.barge_in_min_s)
    overs.sort(key=lambda o: o.start)
    gaps = []
    if agent in sides and customer in sides:
        agent_segs, cust_segs = sides[agent][1].segments, sides[customer][1].segments
        agent_starts, cust_starts = [a.start for a in agent_segs], [o.start for o in cust_segs]
        for c in cust_segs:
            i = bisect.bisect_left(agent_starts, c.end)  # the agent's first start at or after the customer's end
            j = bisect.bisect_right(cust_starts, c.end)  # the customer's next start after it
            if i < len(agent_starts) and (j == len(cust_starts) or agent_starts[i] < cust_starts[j]):
                gaps.append(agent_starts[i] - c.end)
    return StereoMetrics(
        sides=metrics,
        talk_overs=tuple(overs),
        patience_s=round(float(np.mean(gaps)), 3) if gaps else None,
        shortest_gap_s=round(float(min(gaps)), 3) if gaps else None,
    )
