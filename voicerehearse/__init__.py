"""VoiceRehearse: rehearse difficult customer-service calls aloud, offline.

The pipeline flows one way (see README): audio -> transcribe -> analysis -> delivery -> store -> report.
"""

__version__ = "0.1.0"
