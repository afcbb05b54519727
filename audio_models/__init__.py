"""The speech-model manifest (``manifest.toml``), shipped inside the package as ``voicerehearse.audio_models``.

In a source checkout this folder is also where ``voicerehearse models fetch`` unpacks models (git-ignored).
"""
