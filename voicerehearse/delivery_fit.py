"""Fitting the verdict's weights: the one fit behind ``scripts/fit_delivery.py`` (labelled dev speech) and
``voicerehearse verdict fit`` (a team's own coach-labelled turns).

The model (see :mod:`voicerehearse.delivery`) is a softmax over the three styles: assertive is the reference (0),
aggressive and passive have a prior, and each acoustic cue feeds only its own style with a weight >= 0 times how
many spreads past its threshold it is. So every contribution stays readable ("this cue argues for that style")
and they add up to the score. ``anchor`` pulls the fit towards a model already in use instead of towards zero:
a team with a few dozen labelled turns moves the shipped weights rather than replacing them.

>>> import numpy as np
>>> x = np.zeros((3, len(CUES)))
>>> x[0, CUES.index("raised_voice")] = 2.0  # a loud reply, then two calm ones
>>> prior, weights = fit(x, np.array([0, 2, 2]), np.ones(3), l2=0.01)
>>> weights["raised_voice"] > 1.0, prior["aggressive"] < 0  # loudness argues for aggressive, calm replies are not
(True, True)
"""

from __future__ import annotations

from datetime import date

import numpy as np
from scipy.optimize import minimize

from voicerehearse import delivery
from voicerehearse.settings import Settings

CUES = tuple(c.name for c in delivery.ACOUSTIC_CUES)
STYLE_OF = {c.name: c.style for c in delivery.ACOUSTIC_CUES}
COLUMNS = ("aggressive", "passive", "assertive")  # logit columns (assertive, the reference, last); ``y`` indexes them
_OWNER = np.array([COLUMNS.index(STYLE_OF[c]) for c in CUES])


def _mask(weights: np.ndarray) -> np.ndarray:
    """(cues x 3): each cue's weight in its own style's column, 0 elsewhere."""
    mask = np.zeros((len(CUES), 3))
    mask[np.arange(len(CUES)), _OWNER] = weights
    return mask


def design(pairs, settings: Settings) -> np.ndarray:
    """Excess matrix (pairs x cues) with the product's own feature code: ``pairs`` of (tone, pace, baseline)."""
    x = np.zeros((len(pairs), len(CUES)))
    for i, (tone, pace, baseline) in enumerate(pairs):
        excess = delivery.cue_excess(tone, pace, baseline, settings)
        x[i] = [excess.get(c, 0.0) for c in CUES]
    return x


def logits(x: np.ndarray, prior: dict[str, float], weights: dict[str, float],
           offset: np.ndarray | None = None) -> np.ndarray:
    """The three styles' scores (pairs x 3, in :data:`COLUMNS` order) for excess matrix ``x``."""
    out = np.array([prior["aggressive"], prior["passive"], 0.0]) + x @ _mask(np.array([weights[c] for c in CUES]))
    return out if offset is None else out + offset


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, *, offset: np.ndarray | None = None,
        anchor: tuple[dict[str, float], dict[str, float]] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Priors for aggressive and passive and one weight >= 0 per cue, by weighted softmax likelihood.

    ``y``: target column per row (0 aggressive, 1 passive, 2 assertive); ``w``: row weights; ``offset``: scores the
    fit does not own, added to the logits (timing and language reasons, pairs x 3); ``l2`` pulls the weights
    towards 0, or, with ``anchor`` = (prior, weights) of a model in use, pulls priors and weights towards it.
    """
    n = len(CUES)
    mask = _mask(np.ones(n))
    onehot = np.eye(3)[y]
    base = np.zeros((len(y), 3)) if offset is None else offset
    centre = np.zeros(n + 2) if anchor is None else \
        np.array([anchor[0]["aggressive"], anchor[0]["passive"], *(anchor[1][c] for c in CUES)])
    pulled = np.ones(n + 2) if anchor is not None else np.r_[0.0, 0.0, np.ones(n)]  # priors free unless anchored

    def loss(theta):
        b = np.array([theta[0], theta[1], 0.0])
        z = base + b + x @ (mask * theta[2:, None])
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -(w * np.log(np.maximum((p * onehot).sum(axis=1), 1e-12))).mean()
        g = (p - onehot) * w[:, None] / len(y)
        grad = np.concatenate([g.sum(axis=0)[:2], ((x.T @ g) * mask).sum(axis=1)])
        d = pulled * (theta - centre)
        return nll + l2 * float(d @ d), grad + 2 * l2 * d

    theta0 = np.concatenate([[-1.0, -1.0], np.full(n, 0.5)]) if anchor is None else centre.copy()
    bounds = [(None, None)] * 2 + [(0.0, None)] * n
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    return {"aggressive": float(res.x[0]), "passive": float(res.x[1])}, dict(zip(CUES, map(float, res.x[2:])))


def model_text(prior: dict[str, float], weights: dict[str, float], figures: dict[str, str],
               settings_used: dict, note: str, figures_note: str = "measured on data the weights were not fitted to"
               ) -> str:
    """The model file (TOML) :func:`voicerehearse.delivery.load_model` reads."""
    lines = [
        "# Fitted weights of the delivery verdict: written by scripts/fit_delivery.py or `voicerehearse verdict fit`,",
        "# read by voicerehearse.delivery.",
        "# Score of a style = prior + sum over its cues of weight x (spreads past cue_threshold_spreads).",
        f'version = "{date.today().isoformat()}"',
        f'fitted_on = "{note}"',
        "",
        "[prior]  # assertive is the reference (0)",
        *(f"{k} = {v:.3f}" for k, v in prior.items()),  # 3 decimals, as the contributions: scores add up exactly
        "",
        "[weights]",
        *(f"{k} = {weights[k]:.4f}  # -> {STYLE_OF[k]}" for k in CUES),
        "",
        "[fitted_with]  # the settings these weights assume",
        *(f"{k} = {v!r}" for k, v in settings_used.items()),
        "",
        f"[figures]  # {figures_note}",
        *(f'{k} = "{v}"' for k, v in figures.items()),
    ]
    return "\n".join(lines) + "\n"
