import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.accounts.models import Role, RoleAssignment, User
from apps.alumni.demo import reference
from apps.alumni.demo.bulk import bulk_insert, reserve_ids
from apps.alumni.demo.generator import ChunkGenerator
from apps.alumni.demo.users import DEMO_PASSWORD
from apps.alumni.models import (
    College,
    ContactChannel,
    ContactRateSnapshot,
    Employment,
    Enrollment,
    Honour,
    Major,
    Person,
    SchoolClass,
)
from apps.core.crypto import lookup_hash
from apps.core.names import id_number_is_valid, normalise_contact, pinyin_keys

pytestmark = pytest.mark.django_db

N = 300


def seed(alumni=N, seed=1, **options):
    out = StringIO()
    options = {"no_stats": True, "demo_users": False, **options}
    call_command("seed_demo", alumni=alumni, seed=seed, stdout=out, **options)
    return out.getvalue()


def table_counts():
    return {
        model.__name__: model.objects.count()
        for model in (Person, Enrollment, ContactChannel, Employment, Honour, SchoolClass, College, Major)
    } | {"tags": Person.tags.through.objects.count()}


def roster():
    return set(Enrollment.objects.values_list("student_id", "person__name", "person__birth_date"))


def planned(*, seed, alumni):
    """What the roster must be: the generator's people, without the database."""
    people = ChunkGenerator(seed, 0).people(alumni, details_upto=0)
    return {(e.student_id, p.name, p.birth_date) for p in people for e in p.enrollments}


def test_seed_demo_creates_people_with_enrolments_and_derived_keys():
    output = seed()

    assert "300 people created" in output
    assert Person.objects.count() == N
    assert not Person.objects.filter(enrollments__isnull=True).exists()
    for name, pinyin, initials in Person.objects.values_list("name", "name_pinyin", "name_initials"):
        assert (pinyin, initials) == pinyin_keys(name)
        assert pinyin
    for kind, value, normalised in ContactChannel.objects.values_list("kind", "value", "value_normalised"):
        assert normalised == normalise_contact(kind, value)
    assert ContactChannel.objects.filter(status=ContactChannel.Status.VERIFIED, verified_at__isnull=True).count() == 0
    assert set(ContactChannel.objects.values_list("status", flat=True)) >= {"verified", "unverified", "obsolete"}
    assert Employment.objects.exists()


def test_seed_demo_reference_data_looks_like_a_university():
    seed()

    assert College.objects.count() >= 20
    assert College.objects.filter(name="计算机学院", name_en__startswith="School of Computer").exists()
    for college in College.objects.all():
        assert 3 <= college.majors.count() <= 6
    classes = list(SchoolClass.objects.values_list("name", "graduation_year"))
    assert classes
    for name, graduation_year in classes:
        match = re.fullmatch(r"\D+(\d{4})级(专科)?\d班", name)
        assert match, name
        assert graduation_year == int(match[1]) + (3 if match[2] else 4)


def test_seed_demo_people_are_plausible():
    seed()

    for person in Person.objects.prefetch_related("enrollments"):
        enrollments = sorted(person.enrollments.all(), key=lambda e: e.enrollment_year)
        first = enrollments[0]
        age = first.enrollment_year - person.birth_date.year
        assert (17 <= age <= 20) if first.degree_level == "bachelor" else (17 <= age <= 30)
        assert person.gender in ("M", "F")
        for enrollment in enrollments:
            assert 1960 <= enrollment.graduation_year <= 2032
            studying = enrollment.graduation_year > 2026
            assert (enrollment.status == "studying") == studying
    with_id = list(Person.objects.exclude(id_number_hash=""))
    assert with_id  # about 2% of people
    for person in with_id:
        assert id_number_is_valid(person.id_number)
        assert person.id_number[6:14] == person.birth_date.strftime("%Y%m%d")
        assert person.id_number_hash == lookup_hash(person.id_number)


def test_seed_demo_same_seed_twice_creates_nothing_new():
    seed()
    before = table_counts()

    output = seed()

    assert table_counts() == before
    assert "0 people created (300 already present)" in output


def test_seed_demo_larger_n_adds_only_the_difference():
    seed(alumni=200)
    first = roster()

    output = seed(alumni=N)

    assert "100 people created (200 already present)" in output
    assert Person.objects.count() == N
    assert first <= roster()
    assert roster() == planned(seed=1, alumni=N)


def test_seed_demo_other_seed_gives_other_people():
    seed(seed=2)

    assert roster() == planned(seed=2, alumni=N)
    assert len(roster() & planned(seed=1, alumni=N)) < N / 10


def test_generator_is_deterministic_and_prefix_stable():
    def everything(people):
        return [
            (p.name, p.gender, p.birth_date, p.student_ids, p.contacts, p.employments, p.honours, p.tags, p.id_number)
            for p in people
        ]

    full = everything(ChunkGenerator(3, 5).people(400))
    assert everything(ChunkGenerator(3, 5).people(400)) == full
    assert everything(ChunkGenerator(3, 5).people(150)) == full[:150]
    assert everything(ChunkGenerator(4, 5).people(150)) != full[:150]


def test_seed_demo_multi_degree_share_and_order():
    seed()

    degrees = {}
    for person_id, level, year in Enrollment.objects.values_list("person_id", "degree_level", "enrollment_year"):
        degrees.setdefault(person_id, []).append((year, level))
    multi = [sorted(d) for d in degrees.values() if len(d) > 1]
    assert 0.09 <= len(multi) / N <= 0.21  # about 15%
    rank = {"junior": 0, "bachelor": 1, "master": 2, "doctor": 3}
    for chain in multi:
        assert [rank[level] for _, level in chain] == sorted(rank[level] for _, level in chain)


def test_seed_demo_student_ids_unique_and_well_formed():
    seed()

    rows = list(Enrollment.objects.values_list("student_id", "enrollment_year", "college__code"))
    assert len({sid for sid, _, _ in rows}) == len(rows)
    for student_id, enrollment_year, college_code in rows:
        assert re.fullmatch(r"\d{12}", student_id)
        assert student_id[:4] == str(enrollment_year)
        assert student_id[4:6] == college_code


def test_seed_demo_refuses_student_ids_taken_by_other_people():
    planned = ChunkGenerator(1, 0).people(N, details_upto=0)[7]
    stranger = Person.objects.create(name="某某某", birth_date=date(1950, 1, 1))
    college = College.objects.create(code="X1", name="其他学院")
    Enrollment.objects.create(
        person=stranger, student_id=planned.enrollments[0].student_id, degree_level="bachelor", college=college
    )

    with pytest.raises(CommandError, match="already belongs to 某某某"):
        seed()


def test_seed_demo_demo_users_get_their_roles():
    output = seed(demo_users=True)

    assert f"Demo staff login: admin@demo.alumni.edu / {DEMO_PASSWORD}" in output
    admin = User.objects.get(email="admin@demo.alumni.edu")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password(DEMO_PASSWORD)
    roles = {
        (a.user.email, a.role): a for a in RoleAssignment.objects.select_related("user", "college", "school_class")
    }
    assert ("admin@demo.alumni.edu", Role.OFFICE_ADMIN) in roles
    assert ("staff@demo.alumni.edu", Role.OFFICE_STAFF) in roles
    assert roles[("college@demo.alumni.edu", Role.COLLEGE_STAFF)].college.name == "计算机学院"
    liaison = roles[("liaison@demo.alumni.edu", Role.CLASS_LIAISON)]
    assert liaison.school_class.college.name == "计算机学院"
    assert all(User.objects.get(email=email).is_staff for email, _ in roles)

    seed(demo_users=True)
    assert RoleAssignment.objects.count() == len(roles)


def test_seed_demo_no_demo_users_without_debug_unless_asked(settings):
    settings.DEBUG = False
    seed(demo_users=None)
    assert not User.objects.filter(email__endswith="@demo.alumni.edu").exists()


def test_seed_demo_refreshes_contact_rates():
    seed(no_stats=False)

    school = ContactRateSnapshot.objects.get(college=None, graduation_year=None)
    assert school.alumni == N
    assert 0 < school.reachable < N


def test_bulk_insert_round_trips_awkward_values():
    [pk] = reserve_ids(Person, 1)
    awkward = "tab\there, new\nline, back\\slash, \\N"
    now = timezone.now()
    fields = ["id", "created_at", "updated_at", "name", "former_names", "birth_date", "id_number", "is_deceased"]

    bulk_insert(Person, fields, [(pk, now, now, "张伟", awkward, None, "11010519491231002X", True)])

    person = Person.objects.get(pk=pk)
    assert person.former_names == awkward
    assert person.birth_date is None
    assert person.id_number == "11010519491231002X"  # stored encrypted, read back in clear
    assert person.is_deceased
    assert person.country == "中国"  # fields left out get their model defaults
    assert person.privacy_contacts == "office"
    assert Person.objects.create(name="李娜").pk > pk  # the sequence moved past the reserved id


def test_reference_colleges_have_unique_numbers_and_names():
    assert len({c.number for c in reference.COLLEGES}) == len(reference.COLLEGES) >= 20
    assert len({c.name for c in reference.COLLEGES}) == len(reference.COLLEGES)
    for college in reference.COLLEGES:
        assert 3 <= len(college.majors) <= 6
        assert len({m.short for m in college.majors}) == len(college.majors)
