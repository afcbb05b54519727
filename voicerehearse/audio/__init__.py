"""Audio in and out: file loading and validation (io), live capture and playback."""
