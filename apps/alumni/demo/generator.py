"""Deterministic demo people, generated chunk by chunk without touching the database.

Person ``i`` of a seed lives in chunk ``i // CHUNK_SIZE`` at position ``i % CHUNK_SIZE``. Each
chunk draws from three random streams of its own, so any chunk can be generated alone, and the
first ``k`` people of a chunk are the same whether ``k`` or all ``CHUNK_SIZE`` are generated:

- ``"{seed}:{chunk}"``: degrees, colleges, years, birth dates and student IDs (the skeleton);
- ``"{seed}:{chunk}:names"``: gender, name and former names;
- ``"{seed}:{chunk}:details"``: places, contacts, employers, honours, tags, privacy.

The skeleton and names are cheap; they are enough to tell which people already exist. Student
IDs are ``YYYY CC D KKK NN``: enrolment year, college number, degree digit, chunk, and a counter
per (year, college, degree) inside the chunk, so they are unique without looking at other chunks.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from itertools import accumulate
from random import Random

from apps.core.names import id_number_check_char, pinyin_keys

from . import reference as ref
from .names import NameMaker, Sampler

CHUNK_SIZE = 5000
MAX_CHUNKS = 1000  # three digits of the student ID
MAX_ALUMNI = CHUNK_SIZE * MAX_CHUNKS

# The data describe the university as of this day, whatever day they are generated on, so that
# a seed always gives the same records: the class of 2026 has graduated, later classes study.
AS_OF = dt.date(2026, 9, 1)
FIRST_ENROLMENT_YEAR = 1956
FIRST_GRADUATION_YEAR = 1960
LAST_ENROLMENT_YEAR = AS_OF.year
TZ = dt.timezone(dt.timedelta(hours=8))

BACHELOR, MASTER, DOCTOR, JUNIOR = "bachelor", "master", "doctor", "junior"
DEGREE_DIGIT = {BACHELOR: "1", MASTER: "2", DOCTOR: "3", JUNIOR: "4"}
STUDY_YEARS = {BACHELOR: (4,), MASTER: (3, 3, 2), DOCTOR: (4, 4, 5, 6), JUNIOR: (3,)}
# Degree chains: about 15% of people hold two or three degrees from this university.
CHAINS = {
    (BACHELOR,): 0.61,
    (MASTER,): 0.18,
    (DOCTOR,): 0.035,
    (JUNIOR,): 0.025,
    (BACHELOR, MASTER): 0.09,
    (MASTER, DOCTOR): 0.03,
    (BACHELOR, MASTER, DOCTOR): 0.022,
    (BACHELOR, DOCTOR): 0.008,
}
# Age at first enrolment, by the first degree.
START_AGE = {
    BACHELOR: (18, 18, 18, 17, 19, 19, 20),
    JUNIOR: (18, 19),
    MASTER: (22, 22, 23, 24, 26),
    DOCTOR: (25, 26, 27, 30),
}


def _year_weight(year: int) -> float:
    """Relative size of an entering cohort: small in the 1950s-60s, almost none in 1966-1971,
    growing after 1977 and much larger after the 1999 expansion."""
    if year < 1966:
        return 1.5
    if year < 1972:
        return 0.1
    if year < 1977:
        return 0.6
    if year < 1985:
        return 1.5 + (year - 1977) * 0.2
    if year < 1999:
        return 3.2 + (year - 1985) * 0.1
    if year < 2010:
        return 4.6 + (year - 1999) * 0.5
    return 10.0


def classes_per_major(year: int) -> int:
    """How many classes (班) a major runs in one intake."""
    return 1 if year < 1978 else 2 if year < 1999 else 3


class _Reference:
    """Lookup tables derived once from ``reference``."""

    def __init__(self):
        years = range(FIRST_ENROLMENT_YEAR, LAST_ENROLMENT_YEAR + 1)
        self.enrolment_year = Sampler(years, list(accumulate(_year_weight(y) for y in years)))
        self.chain = Sampler.weighted(CHAINS)
        # Colleges open in a given year, weighted by size; majors open in a given year per college.
        self.colleges_by_year: dict[int, Sampler] = {}
        self.majors_by_year: dict[tuple[int, int], list[int]] = {}
        for year in years:
            open_colleges = [i for i, c in enumerate(ref.COLLEGES) if c.founded <= year]
            self.colleges_by_year[year] = Sampler(
                open_colleges, list(accumulate(ref.COLLEGES[i].weight for i in open_colleges))
            )
            for i in open_colleges:
                majors = [m for m, major in enumerate(ref.COLLEGES[i].majors) if major.since <= year]
                self.majors_by_year[(i, year)] = majors or [0]
        self.home_province = Sampler.weighted({p: v[0] for p, v in ref.PROVINCES.items()})
        self.current_province = Sampler.weighted({p: v[1] for p, v in ref.PROVINCES.items()})
        self.country = Sampler.weighted({c: v[0] for c, v in ref.ABROAD.items()})
        self.email_domain = Sampler.weighted(ref.EMAIL_DOMAINS)
        self.names = NameMaker()
        self.employer = Sampler.zipf(ref.EMPLOYERS, 0.6)
        self.tag = Sampler.zipf(range(len(ref.TAGS)), 0.7)


@lru_cache(maxsize=1)
def reference_tables() -> _Reference:
    """Built once per process, read-only afterwards."""
    return _Reference()


class EnrollmentPlan:
    __slots__ = (
        "class_name",
        "class_number",
        "college",
        "degree",
        "enrolled",
        "graduated",
        "major",
        "status",
        "student_id",
    )

    def __init__(self, degree: str, college: int, major: int, enrolled: int, graduated: int):
        self.degree = degree
        self.college = college  # index into reference.COLLEGES
        self.major = major  # index into that college's majors
        self.enrolled = enrolled
        self.graduated = graduated
        self.class_number = 0
        self.class_name = ""
        self.student_id = ""
        self.status = "graduated"


class PersonPlan:
    """One generated person; ``details`` fields are filled by ``ChunkGenerator.details``."""

    __slots__ = (
        "birth_date",
        "city",
        "contacts",
        "country",
        "employments",
        "enrollments",
        "former_names",
        "gender",
        "hometown_city",
        "hometown_province",
        "honours",
        "id_number",
        "index",
        "is_deceased",
        "name",
        "name_initials",
        "name_pinyin",
        "privacy",
        "province",
        "show_in_directory",
        "tags",
    )

    def __init__(self, index: int, enrollments: list[EnrollmentPlan], birth_date: dt.date):
        self.index = index
        self.enrollments = enrollments
        self.birth_date = birth_date
        self.gender = ""
        self.name = self.former_names = self.name_pinyin = self.name_initials = ""
        self.hometown_province = self.hometown_city = self.country = self.province = self.city = ""
        self.id_number = ""
        self.is_deceased = False
        self.privacy = ("office", "office", "office")
        self.show_in_directory = False
        self.contacts: list[tuple[str, str, str, dt.datetime | None, str]] = []
        self.employments: list[tuple[str, str, str, dt.date | None, dt.date | None]] = []
        self.honours: list[tuple[str, str, int | None, str, str]] = []
        self.tags: list[int] = []

    @property
    def student_ids(self) -> list[str]:
        return [e.student_id for e in self.enrollments]

    @property
    def last_graduation(self) -> int:
        return self.enrollments[-1].graduated

    @property
    def studying(self) -> bool:
        return self.enrollments[-1].status == "studying"


class ChunkGenerator:
    """The people of one chunk of one seed."""

    def __init__(self, seed: int | str, chunk: int):
        if not 0 <= chunk < MAX_CHUNKS:
            raise ValueError(f"chunk {chunk} out of range")
        self.seed = seed
        self.chunk = chunk
        self.tables = reference_tables()

    def people(self, count: int, *, details_upto: int | None = None) -> list[PersonPlan]:
        """The first ``count`` people of the chunk; details for positions below ``details_upto``
        (all of them by default; 0 for skeletons and names only)."""
        count = min(count, CHUNK_SIZE)
        people = self._skeletons(count)
        self._names(people)
        upto = count if details_upto is None else min(details_upto, count)
        if upto:
            self.details(people[:upto])
        return people

    # --- skeleton: degrees, colleges, years, student IDs --------------------------------
    def _skeletons(self, count: int) -> list[PersonPlan]:
        rng = Random(f"{self.seed}:{self.chunk}")
        counters: dict[str, int] = {}
        base = self.chunk * CHUNK_SIZE
        chunk_digits = f"{self.chunk:03d}"
        people = []
        for position in range(count):
            while True:
                enrollments, birth_date = self._chain(rng)
                prefixes = [
                    f"{e.enrolled}{ref.COLLEGES[e.college].number:02d}{DEGREE_DIGIT[e.degree]}" for e in enrollments
                ]
                # Two digits of counter per prefix and chunk; a full counter (never seen in practice,
                # but possible) makes this person draw again.
                if all(counters.get(p, 0) < 100 for p in prefixes) and len(set(prefixes)) == len(prefixes):
                    break
            for enrollment, prefix in zip(enrollments, prefixes, strict=True):
                number = counters.get(prefix, 0)
                counters[prefix] = number + 1
                enrollment.student_id = f"{prefix}{chunk_digits}{number:02d}"
            people.append(PersonPlan(base + position, enrollments, birth_date))
        return people

    def _chain(self, rng: Random) -> tuple[list[EnrollmentPlan], dt.date]:
        tables = self.tables
        random = rng.random
        chain = tables.chain(rng)
        first_year = tables.enrolment_year(rng)
        if chain[0] == JUNIOR and first_year >= 2000:
            chain = (BACHELOR,)
        # Years of each degree, then shifted back so that the last one started by LAST_ENROLMENT_YEAR.
        spans = []
        year = first_year
        for position, degree in enumerate(chain):
            if position:
                year += 0 if random() < 0.7 else 1 + int(random() * 5)
            length = STUDY_YEARS[degree][int(random() * len(STUDY_YEARS[degree]))]
            spans.append((degree, year, year + length))
            year += length
        # Shift the whole chain so that the last degree started by LAST_ENROLMENT_YEAR and the
        # first one ended in FIRST_GRADUATION_YEAR or later.
        shift = max(0, spans[-1][1] - LAST_ENROLMENT_YEAR) or min(0, spans[0][2] - FIRST_GRADUATION_YEAR)
        enrollments = []
        college = -1
        for degree, start, end in spans:
            start -= shift
            end -= shift
            if college < 0 or random() >= 0.7 or ref.COLLEGES[college].founded > start:
                college = tables.colleges_by_year[max(start, FIRST_ENROLMENT_YEAR)](rng)
            majors = tables.majors_by_year[(college, max(start, FIRST_ENROLMENT_YEAR))]
            major = majors[int(random() * len(majors))]
            enrollment = EnrollmentPlan(degree, college, major, start, end)
            if degree in (BACHELOR, JUNIOR):
                enrollment.class_number = 1 + int(random() * classes_per_major(start))
                short = ref.COLLEGES[college].majors[major].short
                kind = "专科" if degree == JUNIOR else ""
                enrollment.class_name = f"{short}{start}级{kind}{enrollment.class_number}班"
            enrollments.append(enrollment)
        first = enrollments[0]
        ages = START_AGE[first.degree]
        birth_year = first.enrolled - ages[int(random() * len(ages))]
        birth_date = dt.date(birth_year, 1, 1) + dt.timedelta(days=int(random() * 365))
        last = enrollments[-1]
        if last.graduated > AS_OF.year:
            last.status = "studying"
        else:
            roll = random()
            last.status = "withdrawn" if roll < 0.008 else "completed" if roll < 0.012 else "graduated"
        return enrollments, birth_date

    # --- names --------------------------------------------------------------------------
    def _names(self, people: list[PersonPlan]) -> None:
        rng = Random(f"{self.seed}:{self.chunk}:names")
        random = rng.random
        maker = self.tables.names
        for person in people:
            male_share = ref.COLLEGES[person.enrollments[0].college].male_share
            person.gender = "M" if random() < male_share else "F"
            birth_year = person.birth_date.year
            surname = maker.surname(rng)
            person.name = surname + maker.given(rng, person.gender, birth_year)
            if random() < 0.02:
                # Renamed as a child or young adult: the same surname, an older-fashioned given name.
                person.former_names = surname + maker.given(rng, person.gender, birth_year - 20)
            person.name_pinyin, person.name_initials = pinyin_keys(person.name)

    # --- everything else ----------------------------------------------------------------
    def details(self, people: list[PersonPlan]) -> None:
        """Fill places, identity, contacts, jobs, honours and tags (consumes the details stream
        from the chunk's first person, so pass a prefix of the chunk)."""
        rng = Random(f"{self.seed}:{self.chunk}:details")
        for person in people:
            self._person_details(rng, person)

    def _person_details(self, rng: Random, person: PersonPlan) -> None:
        random = rng.random
        tables = self.tables
        birth_year = person.birth_date.year
        death_risk = 0.4 if birth_year < 1935 else 0.15 if birth_year < 1945 else 0.04 if birth_year < 1955 else 0.002
        person.is_deceased = random() < death_risk

        home = tables.home_province(rng)
        home_cities = ref.PROVINCES[home][2]
        home_city, region_code = home_cities[int(random() * len(home_cities))]
        person.hometown_province, person.hometown_city = home, home_city

        last = person.enrollments[-1]
        if person.studying:
            person.country, person.province, person.city = "中国", ref.UNIVERSITY_PROVINCE, "北京"
        elif random() < ref.ABROAD_SHARE * (1.6 if last.degree in (MASTER, DOCTOR) else 1.0):
            country = tables.country(rng)
            cities = ref.ABROAD[country][1]
            person.country, person.province, person.city = country, "", cities[int(random() * len(cities))]
        else:
            province = home if random() < 0.3 else tables.current_province(rng)
            cities = ref.PROVINCES[province][2]
            person.country, person.province = "中国", province
            person.city = cities[int(random() * len(cities))][0]

        if region_code and random() < 0.02:
            sequence = int(random() * 500) * 2 + (1 if person.gender == "M" else 0)
            first17 = f"{region_code}{person.birth_date:%Y%m%d}{sequence:03d}"
            person.id_number = first17 + id_number_check_char(first17)

        roll = random()
        level = "office" if roll < 0.75 else "classmates" if roll < 0.93 else "chapters" if roll < 0.97 else "verified"
        person.privacy = (level, level if random() < 0.7 else "office", level if random() < 0.5 else "classmates")
        person.show_in_directory = random() < (0.3 if last.graduated >= 2010 else 0.12)

        founded = False
        if not person.is_deceased:
            self._contacts(rng, person)
            if not person.studying:
                founded = self._employments(rng, person)
        self._honours(rng, person)
        self._tags(rng, person, founded=founded)

    def _reach(self, person: PersonPlan) -> float:
        """How likely this person's channels are confirmed: by college and by graduation year."""
        college = ref.COLLEGES[person.enrollments[0].college]
        year = person.last_graduation
        by_year = (
            1.1
            if person.studying
            else 1.0
            if year >= 2016
            else 0.85
            if year >= 2006
            else 0.7
            if year >= 1996
            else 0.55
            if year >= 1986
            else 0.4
        )
        return college.engagement * by_year

    def _verified_at(self, rng: Random) -> dt.datetime:
        roll = rng.random()
        days = int(rng.random() * (730 if roll < 0.45 else 1825 if roll < 0.75 else 5475))
        moment = dt.datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=TZ) - dt.timedelta(days=days)
        return moment + dt.timedelta(seconds=int(rng.random() * 36000))

    def _status(self, rng: Random, verified: float, bounced: float, obsolete: float):
        roll = rng.random()
        if roll < verified:
            return "verified", self._verified_at(rng)
        roll -= verified
        if roll < bounced:
            return "bounced", None
        if roll - bounced < obsolete:
            return "obsolete", self._verified_at(rng) if rng.random() < 0.5 else None
        return "unverified", None

    def _contacts(self, rng: Random, person: PersonPlan) -> None:
        random = rng.random
        reach = self._reach(person)
        year = person.last_graduation
        sources = ref.CONTACT_SOURCES
        contacts = person.contacts
        seen: set[tuple[str, str]] = set()

        def add(kind: str, value: str, status: str, verified_at) -> None:
            if (kind, value) not in seen:  # one row per person, kind and value (a database constraint)
                seen.add((kind, value))
                contacts.append((kind, value, status, verified_at, sources[int(random() * len(sources))]))

        if random() < (0.92 if year >= 1990 else 0.65):
            status, verified_at = self._status(rng, min(0.95, 0.55 * reach), 0.03, 0.05)
            add("mobile", self._mobile(rng), status, verified_at)
            if random() < 0.12:
                add("mobile", self._mobile(rng), "obsolete", None)
        if random() < (0.8 if year >= 1995 else 0.45):
            status, verified_at = self._status(rng, min(0.9, 0.38 * reach), 0.12, 0.04)
            add("email", self._email(rng, person), status, verified_at)
        if random() < (0.65 if year >= 2005 else 0.4 if year >= 1990 else 0.15):
            status, verified_at = self._status(rng, min(0.95, 0.6 * reach), 0.0, 0.05)
            add("wechat", self._wechat(rng, person), status, verified_at)
        if person.country == "中国" and random() < 0.3:
            status, verified_at = self._status(rng, min(0.8, 0.2 * reach), 0.02, 0.1)
            add("address", self._address(rng, person), status, verified_at)

    @staticmethod
    def _mobile(rng: Random) -> str:
        prefixes = ref.MOBILE_PREFIXES
        return f"{prefixes[int(rng.random() * len(prefixes))]}{int(rng.random() * 100_000_000):08d}"

    def _email(self, rng: Random, person: PersonPlan) -> str:
        domain = self.tables.email_domain(rng)
        if domain == "qq.com":
            local = str(10_000 + int(rng.random() ** 2 * 3_000_000_000))
        elif domain == "alumni.demo.edu.cn":
            local = f"{person.name_pinyin}{person.enrollments[0].student_id[-4:]}"
        else:
            roll = rng.random()
            if roll < 0.4:
                local = f"{person.name_pinyin}{int(rng.random() * 1000)}"
            elif roll < 0.7:
                local = f"{person.name_initials}{person.birth_date:%Y}"
            else:
                local = f"{person.name_pinyin}{person.birth_date:%m%d}"
        return f"{local}@{domain}"

    @staticmethod
    def _wechat(rng: Random, person: PersonPlan) -> str:
        if rng.random() < 0.4:
            alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
            return "wxid_" + "".join(alphabet[int(rng.random() * 36)] for _ in range(14))
        return f"{person.name_pinyin}_{int(rng.random() * 10_000)}"

    @staticmethod
    def _address(rng: Random, person: PersonPlan) -> str:
        province, city = person.province, person.city
        districts = ref.DISTRICTS.get(city, ref.GENERIC_DISTRICTS)
        district = districts[int(rng.random() * len(districts))]
        road = ref.ROADS[int(rng.random() * len(ref.ROADS))]
        estate = ref.ESTATES[int(rng.random() * len(ref.ESTATES))]
        if province in ("北京", "上海", "天津", "重庆"):
            place = f"{province}市{district}"
        elif province in ("香港", "澳门", "台湾"):
            place = f"{province}{city}"
        else:
            place = (
                f"{province}{'' if province in ('内蒙古', '广西', '西藏', '宁夏', '新疆') else '省'}{city}市{district}"
            )
        number = 1 + int(rng.random() * 300)
        building = 1 + int(rng.random() * 30)
        room = (1 + int(rng.random() * 25)) * 100 + 1 + int(rng.random() * 4)
        return f"{place}{road}{number}号{road[:2]}{estate}{building}号楼{room}室"

    def _employments(self, rng: Random, person: PersonPlan) -> bool:
        """Add a current job, sometimes a previous one; True when the person founded a company."""
        random = rng.random
        graduated = person.last_graduation
        founded = False
        if random() >= (0.7 if graduated >= 1990 else 0.45):
            return founded
        jobs = 2 if random() < 0.25 else 1
        start = dt.date(graduated, 7, 1) + dt.timedelta(days=int(random() * 120))
        retire_year = person.birth_date.year + 60
        for job in range(jobs):
            if random() < 0.03:
                city = person.city or "北京"
                name = city + "".join(self.tables.names.single[(person.gender, 2)](rng) for _ in range(2))
                organisation, kind = name + ref.FOUNDED_COMPANY_SUFFIXES[int(random() * 5)], "own"
                founded = True
            else:
                organisation, kind = self.tables.employer(rng)
            junior, senior = ref.TITLES[kind]
            seniority = AS_OF.year - start.year
            titles = senior if seniority > 10 and random() < 0.6 else junior
            title = titles[int(random() * len(titles))]
            last = job == jobs - 1
            end = None
            if not last:
                end = start + dt.timedelta(days=365 * (2 + int(random() * 8)))
                if end >= AS_OF:
                    end = None
            elif retire_year < AS_OF.year and random() < 0.6:
                end = max(start, dt.date(retire_year, 12, 31))
            city = person.city if last else ""
            person.employments.append((organisation, title, city, start, end))
            if end is None:
                break
            start = end + dt.timedelta(days=1 + int(random() * 90))
        return founded

    def _honours(self, rng: Random, person: PersonPlan) -> None:
        random = rng.random
        birth_year = person.birth_date.year
        for kind, (share, titles, source, url) in ref.HONOURS.items():
            if kind in ("cas", "cae"):
                # Elected at 45 or later, so only older alumni (about 40% of people) are eligible.
                if birth_year > AS_OF.year - 46 or random() >= share / 0.4:
                    continue
                year = min(birth_year + 45 + int(random() * 25), AS_OF.year)
                year -= 1 - year % 2  # the academies elect in odd years
            else:
                if birth_year > AS_OF.year - 28 or random() >= share:
                    continue
                year = min(birth_year + 28 + int(random() * 35), AS_OF.year)
            title = titles[int(random() * len(titles))]
            person.honours.append((kind, title, year, source, url))

    def _tags(self, rng: Random, person: PersonPlan, *, founded: bool) -> None:
        tags = set()
        if rng.random() < 0.08:
            tags.add(self.tables.tag(rng))
            if rng.random() < 0.3:
                tags.add(self.tables.tag(rng))
        if any(h[0] in ("cas", "cae") for h in person.honours):
            tags.add(ref.TAGS.index("院士"))
        if person.country not in ("中国", "") and rng.random() < 0.3:
            tags.add(ref.TAGS.index("海外校友"))
        if founded:
            tags.add(ref.TAGS.index("创业校友"))
        person.tags = sorted(tags)


def chunk_count(alumni: int) -> int:
    return -(-alumni // CHUNK_SIZE)


def chunk_sizes(alumni: int):
    """(chunk, number of people wanted from it) for the first ``alumni`` people."""
    for chunk in range(chunk_count(alumni)):
        yield chunk, min(CHUNK_SIZE, alumni - chunk * CHUNK_SIZE)
