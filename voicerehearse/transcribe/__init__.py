"""Turning speech into timed words: transcript files, Vosk, and the rough offline fallback."""
