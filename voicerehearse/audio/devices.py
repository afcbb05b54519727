"""Audio devices through PortAudio: listing them, choosing the input, and one duplex stream per take.

:class:`DuplexCapture` opens one duplex stream (or an input-only one). Its callback only copies the mic block
into a queue and copies the prompt's next slice into the output; every time is a frame count. It also notes
when each block's last frame was captured (:meth:`DuplexCapture.captured_at`), so the verdict delay is timed from
the audio itself, not from when the code got round to reading it.
"""

from __future__ import annotations

import bisect
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from voicerehearse.errors import DeviceError

BLOCK_TIMEOUT_S = 2.0  # no block from the device for this long (wall time) is a device failure


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        raise DeviceError(f"PortAudio is not available ({exc}); install libportaudio2") from None
    return sd


_closing: list[threading.Thread] = []  # streams being stopped in the background (DuplexCapture.close)


def _stop(stream) -> None:
    sd = _sd()
    try:
        stream.abort()
        stream.close()
    except sd.PortAudioError:
        pass


def settle_closing() -> None:
    """Wait until every stream closed in the background is closed."""
    while _closing:
        _closing.pop().join()


def list_devices() -> tuple[DeviceInfo, ...]:
    """Every audio device PortAudio sees."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from None
    return tuple(
        DeviceInfo(i, d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"], d["max_output_channels"],
                   d["default_samplerate"], i == default_in, i == default_out)
        for i, d in enumerate(devices)
    )


def _device_arg(device: str | int | None) -> str | int | None:
    if device is None or device == "":
        return None
    if isinstance(device, str) and device.strip().isdigit():
        return int(device)
    return device


def input_device(device: str | int | None = None) -> DeviceInfo:
    """The input device to record from (by index or name substring); DeviceError if there is none."""
    sd = _sd()
    devices = list_devices()
    if not any(d.max_input_channels > 0 for d in devices):
        raise DeviceError("no input device found: connect a microphone (or headset) and try again; "
                          "`voicerehearse devices` lists what PortAudio sees")
    try:
        info = sd.query_devices(_device_arg(device), "input")
    except (ValueError, sd.PortAudioError) as exc:
        raise DeviceError(f"input device {device if device is not None else '(default)'} not usable: {exc}") from None
    match = next((d for d in devices if d.name == info["name"] and d.max_input_channels > 0), None)
    if match is None:
        raise DeviceError(f"input device {device if device is not None else '(default)'} has no input channels")
    return match


class DuplexCapture:
    """One stream that records the mic and plays the prompt with the same frame clock.

    Use as a context manager; iterate :meth:`blocks`. ``prompt`` (a
    :class:`voicerehearse.audio.playback.PromptSource`) starts at its ``start_frame`` of the recording;
    ``output=False`` opens an input-only stream (calibration, or no output device).
    """

    def __init__(self, *, sample_rate: int, input_device: str | int | None = None,
                 output_device: str | int | None = None, prompt=None, output: bool = True, blocksize: int = 800):
        self.sample_rate = sample_rate
        self.devices = (_device_arg(input_device), _device_arg(output_device))
        self.prompt = prompt
        self.output = output
        self.blocksize = blocksize
        self.queue: queue.Queue[np.ndarray] = queue.Queue()
        self.statuses: list[str] = []  # PortAudio status flags seen by the callback (overflows, underflows)
        # seconds from a frame's capture (ADC) to the playback (DAC) of the output frame with the same index, from
        # the stream's own clock: where the prompt really starts in the recording is start_frame + this
        self.output_delay_s: float | None = None
        self._frame = 0
        self._stream = None
        # (frames so far, time.monotonic() when the last of them was captured), one entry per block
        self._captured: list[tuple[int, float]] = []

    def _callback(self, indata, outdata, frames, time_info, status):  # PortAudio thread: copy and enqueue only
        now = time.monotonic()
        # the block's last frame reached the ADC this long ago (the stream's own clock; 0 when it has none)
        lag = time_info.currentTime - time_info.inputBufferAdcTime - frames / self.sample_rate
        self._captured.append((self._frame + frames, now - (lag if 0.0 <= lag <= 0.5 else 0.0)))
        if status:
            self.statuses.append(str(status))
        if outdata is not None:
            if self.output_delay_s is None:
                delay = time_info.outputBufferDacTime - time_info.inputBufferAdcTime
                self.output_delay_s = delay if 0.0 <= delay <= 0.5 else 0.0
            if self.prompt is not None:
                self.prompt.fill(outdata, self._frame)
            else:
                outdata.fill(0)
        self._frame += frames
        self.queue.put(indata[:, 0].copy())

    def _input_only(self, indata, frames, time_info, status):
        self._callback(indata, None, frames, time_info, status)

    def __enter__(self) -> "DuplexCapture":
        sd = _sd()
        settle_closing()  # PortAudio opens and closes one stream at a time
        try:
            if self.output:
                self._stream = sd.Stream(samplerate=self.sample_rate, blocksize=self.blocksize, device=self.devices,
                                         channels=1, dtype="int16", callback=self._callback)
            else:
                self._stream = sd.InputStream(samplerate=self.sample_rate, blocksize=self.blocksize,
                                              device=self.devices[0], channels=1, dtype="int16",
                                              callback=self._input_only)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise DeviceError(f"cannot open the audio device: {exc}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close(wait=False)

    def close(self, *, wait: bool = True) -> None:
        """Stop the stream at once (the prompt's tail is not needed any more). ``wait=False``: in a background
        thread — stopping waits for the callback in flight (up to a block), time the verdict should not wait for;
        the next stream opened (or :func:`settle_closing`) waits for it instead. Blocks already queued stay
        readable."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        if wait:
            _stop(stream)
            return
        thread = threading.Thread(target=_stop, args=(stream,), name="close-audio-stream")
        _closing.append(thread)
        thread.start()

    def captured_at(self, frame: int) -> float | None:
        """``time.monotonic()`` when frame ``frame - 1`` (the last of the first ``frame`` frames) was captured:
        the time of the block that holds it. None before the stream delivered it."""
        captured = self._captured
        i = bisect.bisect_left(captured, (frame, float("-inf")))
        return captured[i][1] if i < len(captured) else None

    def blocks(self, timeout_s: float = BLOCK_TIMEOUT_S) -> Iterator[np.ndarray]:
        """Mic blocks, (frames,) int16, for as long as the stream runs. DeviceError when the device stops."""
        while True:
            try:
                yield self.queue.get(timeout=timeout_s)
            except queue.Empty:
                stream = self._stream
                state = "stopped" if stream is None or not stream.active else f"sent nothing for {timeout_s:g} s"
                raise DeviceError(f"the input device {state} (unplugged?)") from None
