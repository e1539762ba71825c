"""Explainable scoring of candidates: facts compared (``facts``), one evidence entry per feature with
its points (``features``), and the band rules (``bands``). See ``features`` for the features."""

from .bands import LIFE_HISTORY, band_of, chance_agreement, corroborated, rank
from .constants import (
    BIRTH_WINDOW,
    CHANCE_MAX,
    HIGH_MIN_MARGIN,
    HIGH_MIN_SCORE,
    KEEP_MIN_SCORE,
    MAX_CANDIDATES,
    POINTS,
    REVIEW_MIN_SCORE,
)
from .facts import Catalogue, EnrolmentFacts, PersonFacts, RowContext, Scored, Statistics, subject_similarity
from .features import score

__all__ = [
    "BIRTH_WINDOW",
    "CHANCE_MAX",
    "HIGH_MIN_MARGIN",
    "HIGH_MIN_SCORE",
    "KEEP_MIN_SCORE",
    "LIFE_HISTORY",
    "MAX_CANDIDATES",
    "POINTS",
    "REVIEW_MIN_SCORE",
    "Catalogue",
    "EnrolmentFacts",
    "PersonFacts",
    "RowContext",
    "Scored",
    "Statistics",
    "band_of",
    "chance_agreement",
    "corroborated",
    "rank",
    "score",
    "subject_similarity",
]
