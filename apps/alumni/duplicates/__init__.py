"""The duplicate finder (issue 3, item 8): rules, the set-based scan, staff decisions, and the
same rules for a new record (``duplicate_candidates``) that imports and portal sign-ups call.
"""

from .candidates import Candidate, duplicate_candidates
from .rules import MAX_GROUP_SIZE, confidence_for, evidence_text
from .selectors import duplicate_pair_list, duplicate_scan_last_finished, duplicate_scan_latest, visible_duplicate_pairs
from .services import (
    duplicate_pairs_mark_not_same,
    duplicate_pairs_on_merge,
    duplicate_pairs_reopen,
    duplicate_scan_request,
    duplicate_scan_run,
)

__all__ = [
    "MAX_GROUP_SIZE",
    "Candidate",
    "confidence_for",
    "duplicate_candidates",
    "duplicate_pair_list",
    "duplicate_pairs_mark_not_same",
    "duplicate_pairs_on_merge",
    "duplicate_pairs_reopen",
    "duplicate_scan_last_finished",
    "duplicate_scan_latest",
    "duplicate_scan_request",
    "duplicate_scan_run",
    "evidence_text",
    "visible_duplicate_pairs",
]
