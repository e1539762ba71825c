"""Every write of the matching app: jobs and their results (``jobs``), staff's decisions (``decisions``)."""

from .decisions import (
    DEFAULT_TAGS,
    ONCE_KINDS,
    match_candidate_confirm,
    match_candidate_reject,
    match_job_accept_high,
    match_job_accept_high_start,
    match_row_reject,
    resolution_for,
)
from .jobs import (
    CommandResult,
    match_file_run,
    match_job_create,
    match_job_run,
    max_upload_bytes,
    vocabulary_load,
)

__all__ = [
    "DEFAULT_TAGS",
    "ONCE_KINDS",
    "CommandResult",
    "match_candidate_confirm",
    "match_candidate_reject",
    "match_file_run",
    "match_job_accept_high",
    "match_job_accept_high_start",
    "match_job_create",
    "match_job_run",
    "match_row_reject",
    "max_upload_bytes",
    "resolution_for",
    "vocabulary_load",
]
