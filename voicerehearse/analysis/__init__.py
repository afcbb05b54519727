"""Acoustic measures. Every metric builds on the one framing helper in :mod:`.frames`."""
