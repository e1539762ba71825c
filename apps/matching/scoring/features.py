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
  disagreement: such a row is never "high");
- tie-break (no points, no corroboration): weak signs that only order candidates with equal scores
  (see ``_tie_break``).

The band rules (``band_of``) are separate and stated once: a name alone is never "high".
"""

from __future__ import annotations

from ..keys import similarity
from ..parsing import ListRow
from .constants import (
    _START_AGES,
    BIRTH_WINDOW,
    DEFAULT_COLLEGE_CHANCE,
    DEFAULT_MAJOR_CHANCE,
    EMPLOYER_COINCIDENCE,
    EMPLOYER_SAME,
    EMPLOYER_SIMILAR,
    GENDER_CHANCE,
    HONOUR_CHANCE,
    MIN_CHANCE,
    POINTS,
    SUBJECT_SAME,
    UNATTRIBUTED_SHARE,
)
from .facts import (
    Catalogue,
    EnrolmentFacts,
    PersonFacts,
    RowContext,
    Scored,
    Statistics,
    SubjectHints,
    subject_similarity,
)


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
        # Same level only, unless the record holds no degree of the level the row names (lists say
        # 本科 loosely).
        same_level = bool(hint[0]) and any(e.degree == hint[0] for e in person.enrolments)
        for index, enrolment in enumerate(person.enrolments):
            if same_level and enrolment.degree != hint[0]:
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


def _tie_break(context: RowContext, person: PersonFacts, scored: Scored) -> None:
    """Weak signs that order candidates whose scores are equal, shown as evidence with no points:

    - each year the row gives (enrolment, graduation) that the record holds exactly: the points for
      years count one agreeing pair, so a namesake who graduated the same year ties with the person
      who also enrolled that year;
    - each degree level the row names (本科, 硕士 ...) that the record holds;
    - minus one when the record holds employers and none resembles the row's: people move, so this
      is no contradiction, but a record that knows another employer fits a little worse than one
      that knows none.

    They never enter the score, so they change no band: an equal score leaves no margin for "high".
    """
    signs: dict = {}
    order = 0
    if context.year_hints:
        exact = 0
        for degree, enrolled, graduated, unclear in context.year_hints:
            same_level = [e for e in person.enrolments if e.degree == degree] if degree else []
            pool = same_level or person.enrolments
            exact += bool(enrolled) and any(e.enrolment_year == enrolled for e in pool)
            exact += bool(graduated) and any(e.graduation_year == graduated for e in pool)
            exact += bool(unclear) and any(unclear in (e.enrolment_year, e.graduation_year) for e in pool)
        signs["years_exact"] = exact
        order += exact
    levels = {hint[0] for hint in context.year_hints if hint[0]}
    levels.update(degree for hints in context.subjects for degree in hints.degrees if degree)
    if levels:
        held = sorted(levels.intersection(e.degree for e in person.enrolments))
        signs["degrees_held"] = held
        order += len(held)
    employer = scored.evidence.get("employer")
    if employer is not None and person.employers and employer["similarity"] < EMPLOYER_SIMILAR:
        signs["employer_elsewhere"] = True
        order -= 1
    if signs:
        scored.tie_break = order
        scored.evidence["tie_break"] = {**signs, "order": order, "points": 0}


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
    _tie_break(context, person, scored)
    scored.score = sum(entry["points"] for entry in scored.evidence.values())
    return scored
