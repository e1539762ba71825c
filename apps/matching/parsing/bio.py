"""Education and life facts read from free text: "1958年考入本校，1962年毕业于飞机设计专业" and the like.

The text is cut into sentences (。；!?) and clauses (，,). Each clause is read on its own: the years
in it and what they are (birth, enrolment, graduation, an honour, or unclear), the school it names
(ours, another one, or none), degree words, majors ("...专业", or a major of ours named verbatim) and
colleges or departments ("...学院", "...系"). A clause that names no school takes the school of the
clause before it in the same sentence, so "1958年考入本校，1962年毕业于飞机设计专业" puts 1962 at
our school. Nothing here touches the database: the names of our colleges and majors come in as
``Vocabulary``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apps.core.names import clean_text, to_simplified

YEAR = r"(1[89]\d\d|20\d\d)"
_YEAR = re.compile(YEAR)
_SENTENCES = re.compile(r"[。；;!！?？\n\r]+|(?<=[a-z])\.\s")
_CLAUSES = re.compile(r"[，,]+")
_RANGE = re.compile(YEAR + r"\s*年?\s*(?:\d{1,2}\s*月)?\s*(?:[-—–~～〜至到]|年至|年到)\s*" + YEAR)

_BIRTH = re.compile(
    YEAR + r"\s*年?\s*(?:\d{1,2}\s*月\s*)?(?:\d{1,2}\s*日\s*)?(?:出生|生于|生人|生(?![产活物效]))"
    r"|(?:生于|出生于|born(?: in)?|b\.)\s*" + YEAR,
    re.IGNORECASE,
)
_GRADUATION_WORDS = re.compile(
    r"毕业|学位|结业|graduat|degree|ph\.?d|\bb\.?s\b|\bm\.?s\b|received",
    re.IGNORECASE,
)
_ENROLMENT_WORDS = re.compile(r"入学|考入|进入|就读|入校|升入|攻读|考取|录取|enrol|entered|admitted", re.IGNORECASE)
_STUDY_WORDS = re.compile(r"学习|求学|读|留学|进修|study|studied", re.IGNORECASE)
_HONOUR_WORDS = re.compile(r"当选|评为|授予|荣获|获评|入选|elected|awarded", re.IGNORECASE)

_DEGREE_WORDS = (
    (re.compile(r"博士后|postdoc", re.IGNORECASE), ""),
    (re.compile(r"博士|ph\.?d|doctor", re.IGNORECASE), "doctor"),
    (re.compile(r"硕士|研究生|master|m\.s\.|m\.sc|mba", re.IGNORECASE), "master"),
    (re.compile(r"本科|学士|bachelor|b\.s\.|b\.sc|b\.eng|b\.a\.", re.IGNORECASE), "bachelor"),
    (re.compile(r"专科|大专", re.IGNORECASE), "junior"),
)

OUR_WORDS = ("本校", "我校", "母校")
_INSTITUTION = re.compile(
    r"([\u4e00-\u9fff]{2,20}?(?:大学|学院|学校|科学院|研究院|研究所))"
    r"|((?:[A-Z][\w'&.-]*\s+){0,6}(?:University|Institute|College)(?:\s+of(?:\s+[A-Z][\w'&.-]*)+)?)"
)
# Words that run into an institution's name in a sentence: "毕业于清华大学", "考入本校".
_LEADING = re.compile(
    r"^(?:先后|后|曾|又|并|即|随即|同年|次年|毕业于|毕业|就读于|就读|考入|进入|升入|转入|在|于|获得?|赴|到|入|至|年)+"
)
_MAJOR = re.compile(r"([\u4e00-\u9fff]{2,16}?)专业")
_DEPARTMENT = re.compile(r"([\u4e00-\u9fff]{2,12}?)(?:学院|(?<![关体联派世水星父母直])系)")
_DEPARTMENT_LEADING = re.compile(r"^.*(?:大学|本校|我校|母校|学校)")
_MAJOR_LEADING = re.compile(r"^.*(?:大学|学院|学校|本校|我校|母校|系)")


@dataclass
class Vocabulary:
    """What counts as our school, and the names of our colleges and majors (simplified, cleaned)."""

    school_names: tuple[str, ...] = ()
    college_names: tuple[str, ...] = ()
    major_names: tuple[str, ...] = ()

    def is_ours(self, text: str) -> bool:
        if any(word in text for word in OUR_WORDS):
            return True
        lowered = text.lower()
        return any(name and name.lower() in lowered for name in self.school_names)


@dataclass
class Education:
    """One clause's worth of education: at which school, which degree, which years, which subject."""

    school: str = ""  # "ours", "other" or "" (not said)
    school_text: str = ""
    degree: str = ""
    enrolment_year: int | None = None
    graduation_year: int | None = None
    year: int | None = None  # a year in an education clause whose role the text does not say
    majors: list[str] = field(default_factory=list)
    colleges: list[str] = field(default_factory=list)

    def has_content(self) -> bool:
        return bool(
            self.degree
            or self.enrolment_year
            or self.graduation_year
            or self.year
            or self.majors
            or self.colleges
            or self.school
        )

    def as_json(self) -> dict:
        data = {
            "school": self.school,
            "school_text": self.school_text,
            "degree": self.degree,
            "enrolment_year": self.enrolment_year,
            "graduation_year": self.graduation_year,
            "year": self.year,
            "majors": self.majors,
            "colleges": self.colleges,
        }
        return {k: v for k, v in data.items() if v}


@dataclass
class BioFacts:
    birth_year: int | None = None
    honour_year: int | None = None
    education: list[Education] = field(default_factory=list)
    other_schools: list[str] = field(default_factory=list)


def _school_of(clause: str, vocabulary: Vocabulary) -> tuple[str, str, list[str], list[str]]:
    """(ours/other/"", the school's text, colleges of ours named as institutions, institution texts)."""
    colleges: list[str] = []
    institutions: list[str] = []
    other = ""
    for match in _INSTITUTION.finditer(clause):
        text = _LEADING.sub("", match.group(1) or match.group(2) or "").strip()
        if len(text) < 3:
            continue
        college = next((name for name in vocabulary.college_names if name and text.endswith(name)), "")
        if college and (text == college or not re.search(r"大学|University", text)):
            colleges.append(college)  # 航空宇航学院: one of ours, the school is not said
            continue
        institutions.append(text)
        if not other and not vocabulary.is_ours(text):
            other = text
    if vocabulary.is_ours(clause):
        lowered = clause.lower()
        ours = next((w for w in (*OUR_WORDS, *vocabulary.school_names) if w and w.lower() in lowered), "")
        return "ours", ours, colleges, institutions
    return ("other", other, colleges, institutions) if other else ("", "", colleges, institutions)


def _degree_of(clause: str) -> str:
    for pattern, level in _DEGREE_WORDS:
        if pattern.search(clause):
            return level
    return ""


def _subjects(
    clause: str, vocabulary: Vocabulary, colleges: list[str], institutions: list[str]
) -> tuple[list[str], list[str]]:
    found = list(colleges) + [name for name in vocabulary.college_names if name and name in clause]
    # A major's name inside a college's name (物理学 in 物理学院) names the college, not the major.
    without_colleges = clause
    for name in sorted(found, key=len, reverse=True):
        without_colleges = without_colleges.replace(name, "，")
    majors = [name for name in vocabulary.major_names if name and name in without_colleges]
    # School names are cut out first, so 北航计算机系 gives 计算机 and 北京航空学院 gives no college.
    rest = clause
    for name in sorted({*OUR_WORDS, *vocabulary.school_names, *institutions}, key=len, reverse=True):
        if name:
            rest = rest.replace(name, "，")
    for match in _MAJOR.finditer(rest):
        text = _LEADING.sub("", _MAJOR_LEADING.sub("", match.group(1)))
        if len(text) >= 2 and not any(text in m or m in text for m in majors):
            majors.append(text)
    for match in _DEPARTMENT.finditer(rest):
        text = _LEADING.sub("", _DEPARTMENT_LEADING.sub("", match.group(1)))
        if len(text) >= 2 and not re.search(r"大学|科学院|研究", text) and not any(text in c for c in found):
            found.append(text)
    return majors, list(dict.fromkeys(found))


def parse_bio(text: str, vocabulary: Vocabulary) -> BioFacts:
    """Birth year, honour year and education clauses found in a biography (simplified first)."""
    facts = BioFacts()
    text = to_simplified(clean_text(text))
    if not text:
        return facts
    for sentence in _SENTENCES.split(text):
        inherited = ("", "")
        for clause in _CLAUSES.split(sentence):
            clause = clause.strip()
            if not clause:
                continue
            education = _read_clause(clause, vocabulary, facts, inherited)
            if education is None:
                continue
            previous = facts.education[-1] if facts.education and inherited[0] else None
            if previous is not None and _completes(previous, education):
                previous.degree = education.degree  # "1980年考入本校，获学士学位": one degree
            else:
                facts.education.append(education)
                if education.school:
                    inherited = (education.school, education.school_text)
    return facts


def _completes(previous: Education, education: Education) -> bool:
    """True when ``education`` only adds the degree of ``previous`` (same school, nothing else said)."""
    alone = not (education.enrolment_year or education.graduation_year or education.year or education.majors
                 or education.colleges)  # fmt: skip
    return alone and bool(education.degree) and not previous.degree and education.school == previous.school


def _read_clause(clause: str, vocabulary: Vocabulary, facts: BioFacts, inherited: tuple[str, str]) -> Education | None:
    birth = _BIRTH.search(clause)
    if birth:
        if facts.birth_year is None:
            facts.birth_year = int(birth.group(1) or birth.group(2))
        clause = (clause[: birth.start()] + " " + clause[birth.end() :]).strip()
    years = [int(y) for y in _YEAR.findall(clause)]
    graduation_words = _GRADUATION_WORDS.search(clause)
    enrolment_words = _ENROLMENT_WORDS.search(clause)
    degree = _degree_of(clause)
    study = bool(graduation_words or enrolment_words or degree or _STUDY_WORDS.search(clause) or "专业" in clause)
    if not study:
        # Work and honours: "现任本校教授", "2019年当选中国科学院院士" say nothing about education.
        if _HONOUR_WORDS.search(clause) and years and facts.honour_year is None:
            facts.honour_year = years[0]
        return None
    school, school_text, colleges, institutions = _school_of(clause, vocabulary)
    majors, found_colleges = _subjects(clause, vocabulary, colleges, institutions)
    if school == "other" and school_text not in facts.other_schools:
        facts.other_schools.append(school_text)
    if not school:
        school, school_text = inherited
    education = Education(school=school, school_text=school_text, degree=degree, majors=majors, colleges=found_colleges)
    span = _RANGE.search(clause)
    if span:
        education.enrolment_year, education.graduation_year = int(span.group(1)), int(span.group(2))
    elif years:
        if graduation_words:
            education.graduation_year = years[-1]
            if len(years) > 1 and enrolment_words:
                education.enrolment_year = years[0]
        elif enrolment_words:
            education.enrolment_year = years[0]
        else:
            education.year = years[0]
    return education if education.has_content() else None
