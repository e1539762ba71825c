"""What the scorer compares: a person's facts, our colleges and majors, one list row's hints."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..keys import org_key, similarity, subject_key
from ..parsing import ListRow
from .constants import _GENERIC_SUBJECTS, SUBJECT_SAME


@dataclass(slots=True)
class EnrolmentFacts:
    student_id: str
    degree: str
    college_id: int
    major_id: int | None
    enrolment_year: int | None
    graduation_year: int | None


@dataclass(slots=True)
class PersonFacts:
    """What the scorer may compare of one person (no contacts, no ID numbers)."""

    id: int
    name: str
    name_key: str
    former_keys: tuple[str, ...]
    pinyin: str
    gender: str
    birth_year: int | None
    birth_month: int | None
    enrolments: list[EnrolmentFacts] = field(default_factory=list)
    employers: list[tuple[str, str]] = field(default_factory=list)  # (as written, org_key)
    honours: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def student_ids(self) -> list[str]:
        return [e.student_id for e in self.enrolments]


class Catalogue:
    """Our colleges and majors by id, with comparison keys, and list texts resolved to them."""

    def __init__(
        self,
        colleges: dict[int, str],
        majors: dict[int, tuple[str, int]],
        *,
        major_shares: dict[int, float] | None = None,
        college_shares: dict[int, float] | None = None,
    ):
        self.colleges = colleges
        self.majors = majors
        # Share of all enrolments in each major and college: how likely a namesake shares it by chance.
        self.major_shares = major_shares or {}
        self.college_shares = college_shares or {}
        self.college_keys = {pk: subject_key(name) for pk, name in colleges.items()}
        self.major_keys = {pk: subject_key(name) for pk, (name, _college) in majors.items()}
        self._cache: dict[tuple[str, str], frozenset[int]] = {}

    def _resolve(self, kind: str, text: str) -> frozenset[int]:
        key = (kind, text)
        found = self._cache.get(key)
        if found is None:
            keys = self.major_keys if kind == "major" else self.college_keys
            wanted = subject_key(text)
            found = frozenset(pk for pk, k in keys.items() if subject_similarity(wanted, k) >= SUBJECT_SAME)
            self._cache[key] = found
        return found

    def majors_of(self, text: str) -> frozenset[int]:
        return self._resolve("major", text)

    def colleges_of(self, text: str) -> frozenset[int]:
        return self._resolve("college", text)


def subject_similarity(a: str, b: str) -> int:
    """Majors and colleges: a short name inside the long one counts ('计算机' in '计算机科学与技术')."""
    if not a or not b:
        return 0
    short = a if len(a) <= len(b) else b
    if short in _GENERIC_SUBJECTS:
        return 100 if a == b else 0
    return similarity(a, b, min_abbreviation=2)


@dataclass
class SubjectHints:
    """Majors and colleges a row names, with the degrees, for education at our school or at no named school."""

    attributed: bool  # the row says this education was at our school
    majors: list[str]  # as listed
    colleges: list[str]
    major_keys: list[str]
    college_keys: list[str]
    major_ids: frozenset[int]
    college_ids: frozenset[int]
    degrees: set[str]


@dataclass
class RowContext:
    """What one list row offers for comparison, computed once for all its candidates."""

    row: ListRow
    org_key: str
    year_hints: list[tuple[str, int | None, int | None, int | None]]  # (degree, enrolment, graduation, unclear)
    subjects: list[SubjectHints]
    namesakes: int = 0  # candidates the row has; set by the matcher before scoring

    @classmethod
    def of(cls, row: ListRow, catalogue: Catalogue) -> RowContext:
        here = [e for e in row.education if e.school != "other"]
        subjects = []
        for attributed in (True, False):
            group = [e for e in here if (e.school == "ours") == attributed]
            majors = [t for e in group for t in e.majors]
            colleges = [t for e in group for t in e.colleges]
            if not (majors or colleges):
                continue
            subjects.append(
                SubjectHints(
                    attributed=attributed,
                    majors=majors,
                    colleges=colleges,
                    major_keys=[subject_key(t) for t in majors],
                    college_keys=[subject_key(t) for t in colleges],
                    major_ids=frozenset().union(*(catalogue.majors_of(t) for t in majors)),
                    college_ids=frozenset().union(*(catalogue.colleges_of(t) for t in colleges)),
                    degrees={e.degree for e in group if e.degree},
                )
            )
        return cls(
            row=row,
            org_key=org_key(row.organisation),
            year_hints=[
                (e.degree, e.enrolment_year, e.graduation_year, e.year)
                for e in here
                if e.enrolment_year or e.graduation_year or e.year
            ],
            subjects=subjects,
        )


@dataclass
class Statistics:
    """Figures about the whole school that weigh evidence: how many people, how many at each employer."""

    population: int = 0
    employer_alumni: dict[str, int] = field(default_factory=dict)


@dataclass
class Scored:
    person: PersonFacts
    score: int
    evidence: dict
    name_match: str
    corroborations: list[str]
    contradictions: list[str]
    chances: dict[str, float] = field(default_factory=dict)  # feature -> share of namesakes agreeing by chance
    # Orders candidates with the same score (see features._tie_break); not part of the score, no corroboration.
    tie_break: int = 0
