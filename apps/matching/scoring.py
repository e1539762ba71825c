"""Explainable scores: one evidence entry per feature, with the values compared and the points given.

A candidate's score is the sum of its features' points (``POINTS``); nothing else goes into it.
Features compare the list row with the person's record:

- name: the same name (after traditional → simplified), a former name, or the same pinyin only;
- birth year: equal, one year apart, two apart (no points), or three and more (a contradiction);
- gender: equal, or different (a contradiction);
- years: graduation or enrolment years the row gives for our school (or without a school) against
  the person's enrolments;
- stage: whether the person's enrolments fit the row's birth year and honour year at all (only
  ever takes points away: a 1990 graduate cannot be the academician born in 1931);
- subject: the major or college the row gives against the person's majors and colleges;
- employer: the row's organisation against every employer on record (rapidfuzz, abbreviations),
  worth less where many alumni work;
- honour: the person already has an honour of the row's kind;
- school: the row says the person studied here (a few points), or only elsewhere (minus).

The band rules (``band_of``) are separate and stated once: a name alone is never "high".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .keys import org_key, similarity, subject_key
from .models import Band
from .parsing import ListRow

POINTS = {
    "name_exact": 40,
    "name_former": 32,
    "name_pinyin": 25,
    "birth_same": 25,
    "birth_one_off": 18,
    "birth_two_off": 0,
    "birth_far": -40,
    "gender_same": 5,
    "gender_differs": -30,
    "graduation_same": 20,
    "graduation_one_off": 12,
    "enrolment_same": 15,
    "enrolment_one_off": 8,
    "year_same": 12,
    "year_one_off": 6,
    "years_differ": -10,
    "stage_impossible": -25,
    "honour_before_study": -15,
    "major_same": 20,
    "college_same": 10,
    "degree_same": 3,
    "employer_same": 20,
    "employer_similar": 10,
    "employer_common": 8,
    "honour_recorded": 15,
    "school_ours": 5,
    "school_elsewhere": -15,
}
HIGH_MIN_SCORE = 75
HIGH_MIN_MARGIN = 15
REVIEW_MIN_SCORE = 25
KEEP_MIN_SCORE = 10
MAX_CANDIDATES = 10
EMPLOYER_SAME = 90
EMPLOYER_SIMILAR = 75
# An employer with at least this many alumni on record is "common": a namesake working there is
# no coincidence (thousands of an aerospace school's alumni work for the big aerospace groups),
# so it earns fewer points and does not count as distinguishing evidence on its own.
EMPLOYER_COMMON_ALUMNI = 200
SUBJECT_SAME = 85
# Too generic to identify a major or a college on their own.
_GENERIC_SUBJECTS = frozenset({"工程", "技术", "科学", "管理", "设计", "工学", "理学", "专业", "研究"})
# Plausible age when starting a degree, per level.
_START_AGES = {"junior": (14, 35), "bachelor": (14, 35), "master": (19, 55), "doctor": (20, 60), "other": (14, 75)}


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
    enrolments: list[EnrolmentFacts] = field(default_factory=list)
    employers: list[tuple[str, str]] = field(default_factory=list)  # (as written, org_key)
    honours: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def student_ids(self) -> list[str]:
        return [e.student_id for e in self.enrolments]


class Catalogue:
    """Our colleges and majors by id, with comparison keys, and list texts resolved to them."""

    def __init__(self, colleges: dict[int, str], majors: dict[int, tuple[str, int]]):
        self.colleges = colleges
        self.majors = majors
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
class RowContext:
    """What one list row offers for comparison, computed once for all its candidates."""

    row: ListRow
    org_key: str
    graduation_years: list[int]
    enrolment_years: list[int]
    unclear_years: list[int]
    degrees: set[str]
    major_texts: list[str]
    college_texts: list[str]
    listed_majors: list[str]
    listed_colleges: list[str]
    major_ids: frozenset[int]
    college_ids: frozenset[int]

    @classmethod
    def of(cls, row: ListRow, catalogue: Catalogue) -> RowContext:
        here = [e for e in row.education if e.school != "other"]
        major_texts = [t for e in here for t in e.majors]
        college_texts = [t for e in here for t in e.colleges]
        major_ids = frozenset().union(*(catalogue.majors_of(t) for t in major_texts))
        college_ids = frozenset().union(*(catalogue.colleges_of(t) for t in college_texts))
        return cls(
            row=row,
            org_key=org_key(row.organisation),
            graduation_years=[e.graduation_year for e in here if e.graduation_year],
            enrolment_years=[e.enrolment_year for e in here if e.enrolment_year],
            unclear_years=[e.year for e in here if e.year],
            degrees={e.degree for e in here if e.degree},
            major_texts=[subject_key(t) for t in major_texts],
            college_texts=[subject_key(t) for t in college_texts],
            listed_majors=major_texts,
            listed_colleges=college_texts,
            major_ids=major_ids,
            college_ids=college_ids,
        )


@dataclass
class Scored:
    person: PersonFacts
    score: int
    evidence: dict
    name_match: str
    corroborations: list[str]
    contradictions: list[str]


def _name(context: RowContext, person: PersonFacts) -> tuple[str, dict]:
    row = context.row
    if row.name_key and row.name_key == person.name_key:
        match = "exact"
    elif row.name_key and (row.name_key in person.former_keys or person.name_key in row.former_names):
        match = "former"
    elif row.latin_keys and person.pinyin in row.latin_keys:
        match = "pinyin"
    elif row.name_key and person.former_keys and any(k in row.former_names for k in person.former_keys):
        match = "former"
    else:
        match = "pinyin"
    return match, {"list": row.name, "record": person.name, "match": match, "points": POINTS[f"name_{match}"]}


def _birth(row: ListRow, person: PersonFacts, scored: Scored) -> None:
    if row.birth_year is None:
        return
    entry = {"list": row.birth_year, "record": person.birth_year, "points": 0}
    if person.birth_year is not None:
        diff = abs(row.birth_year - person.birth_year)
        entry["difference"] = diff
        if diff == 0:
            entry["points"] = POINTS["birth_same"]
        elif diff == 1:
            entry["points"] = POINTS["birth_one_off"]
        elif diff == 2:
            entry["points"] = POINTS["birth_two_off"]
        else:
            entry["points"] = POINTS["birth_far"]
            scored.contradictions.append("birth_year")
        if diff <= 1:
            scored.corroborations.append("birth_year")
    scored.evidence["birth_year"] = entry


def _gender(row: ListRow, person: PersonFacts, scored: Scored) -> None:
    if not row.gender:
        return
    entry = {"list": row.gender, "record": person.gender or None, "points": 0}
    if person.gender:
        if person.gender == row.gender:
            entry["points"] = POINTS["gender_same"]
        else:
            entry["points"] = POINTS["gender_differs"]
            scored.contradictions.append("gender")
    scored.evidence["gender"] = entry


def _best_year(wanted: list[int], have: list[int], same: str, one_off: str) -> tuple[int, int | None, int | None]:
    best = (0, None, None)
    for w in wanted:
        for h in have:
            diff = abs(w - h)
            points = POINTS[same] if diff == 0 else POINTS[one_off] if diff == 1 else 0
            if points > best[0]:
                best = (points, w, h)
    return best


def _years(context: RowContext, person: PersonFacts, scored: Scored) -> None:
    if not (context.graduation_years or context.enrolment_years or context.unclear_years):
        return
    graduations = [e.graduation_year for e in person.enrolments if e.graduation_year]
    enrolments = [e.enrolment_year for e in person.enrolments if e.enrolment_year]
    options = [
        ("graduation", *_best_year(context.graduation_years, graduations, "graduation_same", "graduation_one_off")),
        ("enrolment", *_best_year(context.enrolment_years, enrolments, "enrolment_same", "enrolment_one_off")),
        ("year", *_best_year(context.unclear_years, graduations + enrolments, "year_same", "year_one_off")),
    ]
    kind, points, listed, recorded = max(options, key=lambda option: option[1])
    entry = {
        "list": {"graduation": context.graduation_years, "enrolment": context.enrolment_years,
                 "unclear": context.unclear_years},
        "record": {"graduation": graduations, "enrolment": enrolments},
        "points": points,
    }  # fmt: skip
    if points:
        entry["matched"] = {"kind": kind, "list": listed, "record": recorded}
        if "birth_year" in scored.corroborations:
            # Born the same year, a namesake mostly studied in the same years too: half the points.
            entry["implied_by_birth_year"] = True
            points = (points + 1) // 2
            entry["points"] = points
        scored.corroborations.append("years")
    elif graduations or enrolments:
        near = [
            abs(w - h)
            for w in context.graduation_years + context.enrolment_years + context.unclear_years
            for h in graduations + enrolments
        ]
        if near and min(near) > 3:
            entry["points"] = POINTS["years_differ"]
    scored.evidence["years"] = entry


def _stage(context: RowContext, person: PersonFacts, scored: Scored) -> None:
    """Only takes points away: enrolments the row's birth or honour year rules out."""
    row = context.row
    starts = [(e.degree, e.enrolment_year) for e in person.enrolments if e.enrolment_year]
    if not starts or (row.birth_year is None and row.honour_year is None):
        return
    entry: dict = {"points": 0}
    if row.birth_year is not None and person.birth_year is None:
        ages = [(degree, year - row.birth_year) for degree, year in starts]
        entry["age_at_enrolment"] = [age for _degree, age in ages]
        plausible = any(_age_fits(degree, age) for degree, age in ages)
        if not plausible:
            entry["points"] += POINTS["stage_impossible"]
            scored.contradictions.append("stage")
    first = min(year for _degree, year in starts)
    if row.honour_year is not None:
        entry["honour_year"] = row.honour_year
        entry["first_enrolment"] = first
        if row.honour_year < first:
            entry["points"] += POINTS["honour_before_study"]
    if len(entry) > 1:
        scored.evidence["stage"] = entry


def _age_fits(degree: str, age: int) -> bool:
    low, high = _START_AGES.get(degree, _START_AGES["other"])
    return low <= age <= high


def _subject(context: RowContext, person: PersonFacts, catalogue: Catalogue, scored: Scored) -> None:
    if not (context.major_texts or context.college_texts):
        return
    best_points, best = 0, None
    for enrolment in person.enrolments:
        points, how = 0, ""
        major_key = catalogue.major_keys.get(enrolment.major_id) if enrolment.major_id else None
        if enrolment.major_id in context.major_ids or (
            major_key and any(subject_similarity(t, major_key) >= SUBJECT_SAME for t in context.major_texts)
        ):
            points, how = POINTS["major_same"], "major"
        else:
            college_key = catalogue.college_keys.get(enrolment.college_id, "")
            major_college = catalogue.majors.get(enrolment.major_id, (None, None))[1] if enrolment.major_id else None
            same_college = enrolment.college_id in context.college_ids or any(
                subject_similarity(t, college_key) >= SUBJECT_SAME for t in context.college_texts
            )
            # A major named in the row that belongs to this enrolment's college.
            sister_major = major_college is not None and any(
                catalogue.majors[m][1] == enrolment.college_id for m in context.major_ids
            )
            if same_college or sister_major:
                points, how = POINTS["college_same"], "college"
        if points and enrolment.degree in context.degrees:
            points += POINTS["degree_same"]
        if points > best_points:
            best_points, best = points, (enrolment, how)
    entry: dict = {
        "list": {"majors": context.listed_majors, "colleges": context.listed_colleges},
        "points": best_points,
    }
    if best is not None:
        enrolment, how = best
        entry["record"] = {
            "major": catalogue.majors.get(enrolment.major_id, ("", 0))[0] if enrolment.major_id else "",
            "college": catalogue.colleges.get(enrolment.college_id, ""),
            "degree": enrolment.degree,
            "matched": how,
        }
        scored.corroborations.append("subject")
    scored.evidence["subject"] = entry


def _employer(context: RowContext, person: PersonFacts, employer_alumni: dict[str, int], scored: Scored) -> None:
    if not context.org_key:
        return
    best, best_text, best_key = 0, None, ""
    for text, key in person.employers:
        value = similarity(context.org_key, key)
        if value > best:
            best, best_text, best_key = value, text, key
    entry = {"list": context.row.organisation, "similarity": best, "points": 0}
    if best >= EMPLOYER_SIMILAR:
        alumni_there = employer_alumni.get(best_key, 0)
        entry["record"] = best_text
        entry["alumni_there"] = alumni_there
        if alumni_there >= EMPLOYER_COMMON_ALUMNI:
            entry["points"] = POINTS["employer_common"]
            scored.corroborations.append("employer_common")
        else:
            entry["points"] = POINTS["employer_same"] if best >= EMPLOYER_SAME else POINTS["employer_similar"]
            scored.corroborations.append("employer")
    else:
        entry["record"] = [text for text, _key in person.employers[:3]]
    scored.evidence["employer"] = entry


def _honour(context: RowContext, person: PersonFacts, scored: Scored) -> None:
    row = context.row
    for kind, year in person.honours:
        if (
            kind == row.honour_kind
            and kind != "other"
            and (year is None or row.honour_year is None or year == row.honour_year)
        ):
            scored.evidence["honour"] = {
                "list": {"kind": row.honour_kind, "year": row.honour_year},
                "record": {"kind": kind, "year": year},
                "points": POINTS["honour_recorded"],
            }
            scored.corroborations.append("honour")
            return


def _school(context: RowContext, scored: Scored) -> None:
    row = context.row
    if row.ours_mentioned:
        scored.evidence["school"] = {"list": "ours", "points": POINTS["school_ours"]}
    elif row.elsewhere_only:
        scored.evidence["school"] = {"list": row.other_schools, "points": POINTS["school_elsewhere"]}


def score(
    context: RowContext, person: PersonFacts, catalogue: Catalogue, employer_alumni: dict[str, int] | None = None
) -> Scored:
    """Every feature of one candidate; the score is the sum of the points in ``evidence``."""
    match, name_entry = _name(context, person)
    scored = Scored(person=person, score=0, evidence={"name": name_entry}, name_match=match,
                    corroborations=[], contradictions=[])  # fmt: skip
    _birth(context.row, person, scored)
    _gender(context.row, person, scored)
    _years(context, person, scored)
    _stage(context, person, scored)
    _subject(context, person, catalogue, scored)
    _employer(context, person, employer_alumni or {}, scored)
    _honour(context, person, scored)
    _school(context, scored)
    scored.score = sum(entry["points"] for entry in scored.evidence.values())
    return scored


def rank(scored: list[Scored]) -> list[Scored]:
    """Best first; ties go to the candidate with fewer contradictions, then more corroboration, then id."""
    return sorted(scored, key=lambda s: (-s.score, len(s.contradictions), -len(s.corroborations), s.person.id))


# Evidence that tells namesakes apart: the subject studied, a specific employer, a recorded honour.
DISTINGUISHING = frozenset({"subject", "employer", "honour"})
# Evidence that namesakes of the same age often share: the years of study, a common employer.
SUPPORTING = frozenset({"years", "employer_common"})


def corroborated(scored: Scored) -> bool:
    """The name is backed by the person's life: the birth year (±1) and one distinguishing feature,
    or without an agreeing birth year, one distinguishing and one more feature."""
    distinguishing = DISTINGUISHING.intersection(scored.corroborations)
    if not distinguishing:
        return False
    if "birth_year" in scored.corroborations:
        return True
    return len(distinguishing) + len(SUPPORTING.intersection(scored.corroborations)) >= 2


def band_of(ranked: list[Scored]) -> str:
    """high: a corroborated best candidate, clearly ahead of the next; review: a plausible one; else none.

    "high" needs, besides the name: no contradiction, corroboration (see ``corroborated``), a score
    of HIGH_MIN_SCORE and a lead of HIGH_MIN_MARGIN points over the next candidate. A name match
    alone therefore never reaches it, however few people carry that name.
    """
    if not ranked or ranked[0].score < REVIEW_MIN_SCORE:
        return Band.NONE
    top = ranked[0]
    margin = top.score - ranked[1].score if len(ranked) > 1 else top.score
    if corroborated(top) and not top.contradictions and top.score >= HIGH_MIN_SCORE and margin >= HIGH_MIN_MARGIN:
        return Band.HIGH
    return Band.REVIEW
