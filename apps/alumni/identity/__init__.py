"""Identity checks (审核校友身份): is each person on another office's list one of our alumni?

Staff paste a list or upload CSV/XLSX (name with a student ID or a graduation year, optionally a
college). Each row is answered "alumnus" (with the matched degree), "ambiguous" (the candidates)
or "not found", using indexed lookups only: the unique student ID, and the person's name with the
enrolment's graduation year. College staff match only people they may see (visible_people), so
anyone else is "not found" for them. Results never carry contact details.
"""

from .matching import MAX_CANDIDATES, NOTES, Outcome, identity_match, note_text
from .parsing import MAX_FILE_BYTES, MAX_ROWS, InputRow, parse_pasted, parse_upload, rows_from_cells
from .services import (
    RESULTS_KEPT_DAYS,
    identity_check_list,
    identity_check_results_purge,
    identity_check_run,
    identity_check_xlsx,
    result_lines,
    summary_text,
)

__all__ = [
    "MAX_CANDIDATES",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "NOTES",
    "RESULTS_KEPT_DAYS",
    "InputRow",
    "Outcome",
    "identity_check_list",
    "identity_check_results_purge",
    "identity_check_run",
    "identity_check_xlsx",
    "identity_match",
    "note_text",
    "parse_pasted",
    "parse_upload",
    "result_lines",
    "rows_from_cells",
    "summary_text",
]
