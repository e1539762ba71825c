"""Ranking the candidates of a row and deciding its band: high confidence, needs review, no match."""

from __future__ import annotations

from ..models import Band
from .constants import CHANCE_MAX, HIGH_MIN_MARGIN, HIGH_MIN_SCORE, REVIEW_MIN_SCORE
from .facts import Scored


def rank(scored: list[Scored]) -> list[Scored]:
    """Best first; equal scores go to the candidate with the better tie-break (weak signs that order
    namesakes without counting towards the score or the band), then fewer contradictions, then more
    corroboration, then id. An equal score leaves no margin, so a tie-break never makes a row "high"."""
    return sorted(
        scored, key=lambda s: (-s.score, -s.tie_break, len(s.contradictions), -len(s.corroborations), s.person.id)
    )


LIFE_HISTORY = frozenset(
    {"years", "subject", "subject_unattributed", "employer", "employer_common", "honour", "school"}
)


def corroborated(scored: Scored) -> bool:
    """The name is backed by the person's life: the birth year (±1) and our school named, a major or
    college, an employer or a recorded honour (not the years of study alone: a namesake born that
    year mostly studied in those years too); or, without an agreeing birth year, two of those
    (years of study included)."""
    history = LIFE_HISTORY.intersection(scored.corroborations)
    if "birth_year" in scored.corroborations:
        return bool(history - {"years"})
    return len(history) >= 2


def chance_agreement(scored: Scored, namesakes: int) -> float:
    """How many of ``namesakes`` people would be expected to agree with the row this well by chance."""
    expected = float(namesakes)
    for share in scored.chances.values():
        expected *= share
    return expected


def band_of(ranked: list[Scored]) -> str:
    """high: a corroborated best candidate, clearly ahead of the next; review: a plausible one; else none.

    "high" needs, besides the name: no contradiction, corroboration (see ``corroborated``), so
    much agreement that the row's namesakes would match this well by chance fewer than CHANCE_MAX
    times, a score of HIGH_MIN_SCORE and a lead of HIGH_MIN_MARGIN points over the next candidate.
    A name match alone therefore never reaches it, however few people carry that name.
    """
    if not ranked or ranked[0].score < REVIEW_MIN_SCORE:
        return Band.NONE
    top = ranked[0]
    margin = top.score - ranked[1].score if len(ranked) > 1 else top.score
    clear = top.score >= HIGH_MIN_SCORE and margin >= HIGH_MIN_MARGIN
    rare = chance_agreement(top, len(ranked)) <= CHANCE_MAX
    if corroborated(top) and not top.contradictions and clear and rare:
        return Band.HIGH
    return Band.REVIEW
