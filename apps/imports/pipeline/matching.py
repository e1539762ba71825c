"""The matching rules, their outcome kinds and the reasons shown to staff. One place for both backends.

Every valid row gets one kind:

- ``matched`` (then ``update`` or ``unchanged``): its student ID is already enrolled. The person
  and enrolment get the row's non-empty values; contacts not yet on the person are added.
  A row whose name *and* birth date both differ from the enrolled person's is ``flagged``
  instead (a student ID reused or mistyped), never written over someone else.
- ``new_enrollment``: a new student ID whose name and birth date match exactly one person already
  in the database, the second degree of that person (a master's after a bachelor's).
- ``flagged``: two or more people share the name and birth date (ambiguous); or a person with
  the same name studied at the same college and one of the two has no birth date (partial
  evidence). Flagged rows are reported for review and never merged silently.
- ``new_person``: anything else. Same name and college but a different birth date is a different
  person. Rows of the same file with the same name and birth date (and new student IDs) become
  one new person with several enrolments; rows without a birth date are never merged.
- ``error``: a student ID repeated in the file (the first row counts), or a new enrolment without
  the college or degree level it needs, or years that would contradict the existing record.

Candidates are always people who existed before the job started; a person's fields are taken
from the last row of the file that names them. Unknown colleges are rejected while staging;
unknown majors and classes under a known college are created (a roster introduces new classes
every year), colleges never are.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

NEW_PERSON = "new_person"
NEW_ENROLLMENT = "new_enrollment"
MATCHED = "matched"
UPDATE = "update"
UNCHANGED = "unchanged"
FLAGGED = "flagged"
ERROR = "error"

CREATED_KINDS = (NEW_PERSON, NEW_ENROLLMENT)

# Flag reasons
AMBIGUOUS = "ambiguous"
PARTIAL = "partial"
STUDENT_ID_CONFLICT = "student_id_conflict"
# Error reasons
DUPLICATE = "duplicate"
COLLEGE_REQUIRED = "college_required"
DEGREE_REQUIRED = "degree_required"
YEARS_CONFLICT = "years_conflict"

ERROR_FIELDS = {
    DUPLICATE: "student_id",
    COLLEGE_REQUIRED: "college",
    DEGREE_REQUIRED: "degree_level",
    YEARS_CONFLICT: "graduation_year",
}


def reason_text(reason: str, *, detail: int | None = None, student_id: str = "", name: str = "") -> str:
    """The translated explanation of a flag or error reason (without the row prefix)."""
    if reason == AMBIGUOUS:
        return _(
            "%(count)s people already have this name and birth date; decide by hand which one this row belongs to."
        ) % {"count": detail or 2}
    if reason == PARTIAL:
        return _(
            "Record #%(person)s has the same name and studied at the same college, but one of the two has no birth "
            "date; check by hand whether they are the same person."
        ) % {"person": detail}
    if reason == STUDENT_ID_CONFLICT:
        return _(
            "Student ID %(student_id)s belongs to record #%(person)s, whose name and birth date both differ from "
            "this row; check the student ID."
        ) % {"student_id": student_id, "person": detail}
    if reason == DUPLICATE:
        return _(
            "Student ID %(student_id)s is repeated in this file (first at row %(first)s); the first row counts."
        ) % {
            "student_id": student_id,
            "first": detail,
        }
    if reason == COLLEGE_REQUIRED:
        return _("A new enrolment needs its college.")
    if reason == DEGREE_REQUIRED:
        return _("A new enrolment needs its degree level.")
    if reason == YEARS_CONFLICT:
        return _("The graduation year would come before the enrolment year of the existing record.")
    return reason


def row_message(row: int, column: str, problem: str) -> str:
    """'Row 5, column “学号”: ...' (the parser's wording, so one translation serves both)."""
    if column:
        return _("Row %(row)s, column “%(column)s”: %(problem)s") % {"row": row, "column": column, "problem": problem}
    return _("Row %(row)s: %(problem)s") % {"row": row, "problem": problem}
