"""The names shared by every layer, each listed once: the three delivery styles and the review statuses.

No imports, so the CLI can offer them as choices without loading the store or numpy.

>>> STYLES[0], REVIEW_STATUSES[-1]
('aggressive', 'disputed')
"""

STYLES = ("aggressive", "passive", "assertive")  # the verdict's labels; the worst first (ties go to it)
REVIEW_STATUSES = ("new", "reviewed", "shared", "acknowledged", "disputed")  # a session's review, in order
