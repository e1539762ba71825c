"""Explainable scores: one evidence entry per feature, with the values compared and the points given.

A candidate's score is the sum of its features' points (``POINTS``); nothing else goes into it.
Features compare the list row with the person's record:

- name: the same name (after traditional → simplified), a former name, or the same pinyin only;
- birth year: equal, one year apart, two apart (no points, but a disagreement: never "high"), or
  three and more (a contradiction);
  and the month when both give it and the years agree (one namesake in twelve shares it; two
  and more months apart is a disagreement);
- gender: equal, or different (a contradiction);
- years: graduation or enrolment years the row gives for our school (or without a school) against
  the person's enrolments;
- stage: whether the person's enrolments fit the row's birth year and honour year at all (only
  ever takes points away: a 1990 graduate cannot be the academician born in 1931);
- subject: the major or college the row gives against the person's majors and colleges;
- employer: the row's organisation against every employer on record (rapidfuzz, abbreviations),
  worth less where many alumni work;
- honour: the person already has an honour of the row's kind;
- school: the row says the person studied here (a few points), or only elsewhere (minus, and a
  disagreement: such a row is never "high").

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
    "birth_month_same": 12,
    "birth_month_differs": -10,
    "gender_same": 5,
    "gender_differs": -30,
    "graduation_same": 20,
    "graduation_one_off": 12,
    "enrolment_same": 15,
    "enrolment_one_off": 8,
    "year_same": 12,
    "year_one_off": 6,
    "years_differ": -10,
    "second_degree": 10,
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
# "high" also needs the row's namesakes to be unlikely to agree this well by chance: their number
# times the chance of each agreeing feature (see Scored.chances) must stay under this.
CHANCE_MAX = 0.02
GENDER_CHANCE = 0.6
DEFAULT_MAJOR_CHANCE = 1 / 40
DEFAULT_COLLEGE_CHANCE = 1 / 15
HONOUR_CHANCE = 1 / 1000
MIN_CHANCE = 1e-6
BIRTH_WINDOW = 3  # candidates are born within this many years of the row's birth year
HIGH_MIN_MARGIN = 12
REVIEW_MIN_SCORE = 25
KEEP_MIN_SCORE = 10
MAX_CANDIDATES = 10
EMPLOYER_SAME = 90
EMPLOYER_SIMILAR = 75
# Where so many alumni work that one of the row's namesakes would be expected there this often by
# chance (thousands of an aerospace school's alumni work for the big aerospace groups), an employer
# earns fewer points and does not tell namesakes apart.
EMPLOYER_COINCIDENCE = 0.05
# Education at no named school weighs this share of education the row places at our school.
UNATTRIBUTED_SHARE = 0.6
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
            scored.contradictions.append("birth_year")  # no points off, but never "high"
        else:
            entry["points"] = POINTS["birth_far"]
            scored.contradictions.append("birth_year")
        if diff <= 1:
            scored.corroborations.append("birth_year")
            # Candidates are born within BIRTH_WINDOW years of the row: one year in seven, or three.
            scored.chances["birth_year"] = (1 if diff == 0 else 3) / (2 * BIRTH_WINDOW + 1)
    scored.evidence["birth_year"] = entry
    if row.birth_month and person.birth_month and "birth_year" in scored.corroborations:
        # A month apart is no disagreement: older records often hold the lunar-calendar date.
        apart = min(abs(row.birth_month - person.birth_month), 12 - abs(row.birth_month - person.birth_month))
        points = POINTS["birth_month_same"] if apart == 0 else 0 if apart == 1 else POINTS["birth_month_differs"]
        scored.evidence["birth_month"] = {"list": row.birth_month, "record": person.birth_month, "points": points}
        if apart > 1:
            scored.contradictions.append("birth_month")
        elif apart == 0:
            scored.chances["birth_month"] = 1 / 12


def _gender(row: ListRow, person: PersonFacts, scored: Scored) -> None:
    if not row.gender:
        return
    entry = {"list": row.gender, "record": person.gender or None, "points": 0}
    if person.gender:
        if person.gender == row.gender:
            entry["points"] = POINTS["gender_same"]
            scored.chances["gender"] = GENDER_CHANCE
        else:
            entry["points"] = POINTS["gender_differs"]
            scored.contradictions.append("gender")
    scored.evidence["gender"] = entry


def _year_points(hint: tuple[str, int | None, int | None, int | None], enrolment: EnrolmentFacts):
    """(points, kind, listed, recorded) of one education hint against one enrolment."""
    _degree, enrolled, graduated, unclear = hint
    best: tuple[int, str, int | None, int | None] = (0, "", None, None)
    options = [
        ("graduation", graduated, enrolment.graduation_year, "graduation_same", "graduation_one_off"),
        ("enrolment", enrolled, enrolment.enrolment_year, "enrolment_same", "enrolment_one_off"),
        ("year", unclear, enrolment.graduation_year, "year_same", "year_one_off"),
        ("year", unclear, enrolment.enrolment_year, "year_same", "year_one_off"),
    ]
    for kind, listed, recorded, same, one_off in options:
        if listed is None or recorded is None:
            continue
        diff = abs(listed - recorded)
        points = POINTS[same] if diff == 0 else POINTS[one_off] if diff == 1 else 0
        if points > best[0]:
            best = (points, kind, listed, recorded)
    return best


def _years(context: RowContext, person: PersonFacts, scored: Scored) -> None:
    """The years the row gives for each degree against the person's enrolments (of the same level
    when both say it). The best pair counts fully (half when the birth year already agrees: a
    namesake born that year mostly studied in those years too); a second degree matching another
    enrolment adds up to SECOND_DEGREE points."""
    if not context.year_hints:
        return
    graduations = [e.graduation_year for e in person.enrolments if e.graduation_year]
    enrolments = [e.enrolment_year for e in person.enrolments if e.enrolment_year]
    found = []
    for hint in context.year_hints:
        best = (0, "", None, None, -1)
        for index, enrolment in enumerate(person.enrolments):
            if hint[0] and enrolment.degree and hint[0] != enrolment.degree:
                continue
            points, kind, listed, recorded = _year_points(hint, enrolment)
            if points > best[0]:
                best = (points, kind, listed, recorded, index)
        if best[0]:
            found.append(best)
    entry: dict = {
        "list": [{"degree": d, "enrolment": e, "graduation": g, "unclear": u} for d, e, g, u in context.year_hints],
        "record": {"graduation": graduations, "enrolment": enrolments},
        "points": 0,
    }
    if found:
        found.sort(key=lambda f: -f[0])
        first = found[0]
        points = first[0]
        if "birth_year" in scored.corroborations:
            entry["implied_by_birth_year"] = True
            points = (points + 1) // 2
        matched = [{"kind": first[1], "list": first[2], "record": first[3]}]
        second = next((f for f in found[1:] if f[4] != first[4]), None)
        if second is not None:
            points += min(second[0], POINTS["second_degree"])
            matched.append({"kind": second[1], "list": second[2], "record": second[3]})
        entry["points"] = points
        entry["matched"] = matched
        scored.corroborations.append("years")
        # Born within a year of the row, a third of namesakes studied in exactly those years and two
        # thirds within one; without the birth year, one in fifteen (two within one).
        exact = first[2] == first[3]
        base = 1 / 3 if "birth_year" in scored.corroborations else 1 / 15
        scored.chances["years"] = base * (1 if exact else 2) * (1 / 3 if len(matched) > 1 else 1)
    elif graduations or enrolments:
        listed = [y for _d, *years in context.year_hints for y in years if y]
        near = [abs(w - h) for w in listed for h in graduations + enrolments]
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


def _subject_points(hints: SubjectHints, enrolment: EnrolmentFacts, catalogue: Catalogue) -> tuple[int, str]:
    major_key = catalogue.major_keys.get(enrolment.major_id) if enrolment.major_id else None
    points, how = 0, ""
    if enrolment.major_id in hints.major_ids or (
        major_key and any(subject_similarity(t, major_key) >= SUBJECT_SAME for t in hints.major_keys)
    ):
        points, how = POINTS["major_same"], "major"
    else:
        college_key = catalogue.college_keys.get(enrolment.college_id, "")
        same_college = enrolment.college_id in hints.college_ids or any(
            subject_similarity(t, college_key) >= SUBJECT_SAME for t in hints.college_keys
        )
        # A major named in the row that belongs to this enrolment's college.
        sister_major = any(catalogue.majors[m][1] == enrolment.college_id for m in hints.major_ids)
        if same_college or sister_major:
            points, how = POINTS["college_same"], "college"
    if points and enrolment.degree in hints.degrees:
        points += POINTS["degree_same"]
    return points, how


def _subject(context: RowContext, person: PersonFacts, catalogue: Catalogue, scored: Scored) -> None:
    """The major or college the row names against each enrolment. Education the row places at our
    school counts fully and tells namesakes apart; education at no named school (we teach that major,
    so do others) counts UNATTRIBUTED_SHARE and only supports."""
    if not context.subjects:
        return
    best_points, best = 0, None
    for hints in context.subjects:
        for enrolment in person.enrolments:
            points, how = _subject_points(hints, enrolment, catalogue)
            if not hints.attributed:
                points = round(points * UNATTRIBUTED_SHARE)
            if points > best_points:
                best_points, best = points, (enrolment, how, hints.attributed)
    entry: dict = {
        "list": {
            "majors": [t for h in context.subjects for t in h.majors],
            "colleges": [t for h in context.subjects for t in h.colleges],
            "school_named": any(h.attributed for h in context.subjects),
        },
        "points": best_points,
    }
    if best is not None:
        enrolment, how, attributed = best
        entry["record"] = {
            "major": catalogue.majors.get(enrolment.major_id, ("", 0))[0] if enrolment.major_id else "",
            "college": catalogue.colleges.get(enrolment.college_id, ""),
            "degree": enrolment.degree,
            "matched": how,
        }
        scored.corroborations.append("subject" if attributed else "subject_unattributed")
        if how == "major":
            share = catalogue.major_shares.get(enrolment.major_id, DEFAULT_MAJOR_CHANCE)
        else:
            share = catalogue.college_shares.get(enrolment.college_id, DEFAULT_COLLEGE_CHANCE)
        scored.chances["subject"] = max(share, MIN_CHANCE)
    scored.evidence["subject"] = entry


def _employer(context: RowContext, person: PersonFacts, statistics: Statistics, scored: Scored) -> None:
    """The row's organisation against every employer on record. It tells namesakes apart only where
    few alumni work: the expected number of the row's namesakes working there by chance (namesakes x
    other alumni there / all alumni) must stay under EMPLOYER_COINCIDENCE."""
    if not context.org_key:
        return
    best, best_text, best_key = 0, None, ""
    for text, key in person.employers:
        value = similarity(context.org_key, key)
        if value > best:
            best, best_text, best_key = value, text, key
    entry = {"list": context.row.organisation, "similarity": best, "points": 0}
    if best >= EMPLOYER_SIMILAR:
        alumni_there = statistics.employer_alumni.get(best_key, 1)
        expected = context.namesakes * max(alumni_there - 1, 0) / statistics.population if statistics.population else 0
        entry["record"] = best_text
        entry["alumni_there"] = alumni_there
        if statistics.population:
            scored.chances["employer"] = max(max(alumni_there - 1, 1) / statistics.population, MIN_CHANCE)
        entry["namesakes_expected_there"] = round(expected, 3)
        if expected >= EMPLOYER_COINCIDENCE:
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
            scored.chances["honour"] = HONOUR_CHANCE
            return


def _school(context: RowContext, scored: Scored) -> None:
    row = context.row
    if row.ours_mentioned:
        scored.evidence["school"] = {"list": "ours", "points": POINTS["school_ours"]}
        scored.corroborations.append("school")
    elif row.elsewhere_only:
        scored.evidence["school"] = {"list": row.other_schools, "points": POINTS["school_elsewhere"]}
        scored.contradictions.append("school")  # studied elsewhere only, by the list: never "high"


def score(
    context: RowContext, person: PersonFacts, catalogue: Catalogue, statistics: Statistics | None = None
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
    _employer(context, person, statistics or Statistics(), scored)
    _honour(context, person, scored)
    _school(context, scored)
    scored.score = sum(entry["points"] for entry in scored.evidence.values())
    return scored


def rank(scored: list[Scored]) -> list[Scored]:
    """Best first; ties go to the candidate with fewer contradictions, then more corroboration, then id."""
    return sorted(scored, key=lambda s: (-s.score, len(s.contradictions), -len(s.corroborations), s.person.id))


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
