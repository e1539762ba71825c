"""Staff's decisions on candidates: confirm (writes the honour and a tag, once), reject, no match.

Confirming is idempotent: under a lock on the (entry, person) pair, the ``MatchDecision`` row
(unique per pair) says whether it was already done, and an honour of that kind the person already
has is reused. Every decision is also kept by the entry's fingerprint, so running the same or an
updated list again carries it over.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.alumni.models import Honour, Person, Tag
from apps.alumni.services import personal_data_save
from apps.core import audit
from apps.core.locks import advisory_xact_lock

from ..models import Band, Decision, MatchCandidate, MatchDecision, MatchJob, MatchRow

# Kinds a person holds at most once (an academy elects a member once): an existing one is reused.
ONCE_KINDS = frozenset({Honour.Kind.ACADEMICIAN_CAS, Honour.Kind.ACADEMICIAN_CAE})
# The tag confirmed people get when the job names none (tags are data, kept in the office's language).
DEFAULT_TAGS = {
    Honour.Kind.ACADEMICIAN_CAS: "院士",
    Honour.Kind.ACADEMICIAN_CAE: "院士",
    Honour.Kind.MODEL_WORKER: "全国劳模",
    Honour.Kind.LABOUR_MEDAL: "五一劳动奖章",
    Honour.Kind.AWARD: "获奖校友",
    Honour.Kind.LIST: "榜单校友",
    Honour.Kind.OTHER: "杰出校友",
}


def resolution_for(states: list[str]) -> str:
    """A row's resolution from its candidates' decisions: confirmed, no match, or still to decide."""
    if Decision.CONFIRMED in states:
        return MatchRow.Resolution.CONFIRMED
    if not states:
        return MatchRow.Resolution.NO_CANDIDATES
    if all(state == Decision.REJECTED for state in states):
        return MatchRow.Resolution.NO_MATCH
    return MatchRow.Resolution.PENDING


def _reason(row: MatchRow) -> str:
    return _("List matching: job #%(job)s, row %(row)s") % {"job": row.job_id, "row": row.row}


def _honour_ensure(*, person: Person, row: MatchRow, actor) -> tuple[Honour, bool]:
    """The person's honour for this list entry: an existing one of the same kind (and year) or a new one."""
    hints, job = row.hints, row.job
    kind = hints.get("honour_kind") or job.honour_kind or Honour.Kind.OTHER
    year = hints.get("honour_year")
    title = (hints.get("honour_title") or job.honour_title or "")[:200]
    advisory_xact_lock(f"matching:honour:{person.pk}:{kind}")
    existing = Honour.objects.filter(person=person, kind=kind).order_by("id")
    if kind in ONCE_KINDS:
        found = existing.first()
    elif year:
        found = existing.filter(year=year).first()
    else:
        found = existing.filter(year__isnull=True, title=title).first()
    if found is not None:
        return found, False
    honour = Honour(
        person=person,
        kind=kind,
        title=title,
        year=year,
        source=(job.source_name or job.original_name)[:200],
        source_url=(hints.get("source_url") or job.source_url or "")[:200],
    )
    honour.full_clean(exclude=["person"])
    personal_data_save(instance=honour, old={}, actor=actor, reason=_reason(row))
    return honour, True


def _tag(*, person: Person, row: MatchRow, honour: Honour, actor) -> None:
    name = (row.job.tag_name or DEFAULT_TAGS.get(honour.kind, DEFAULT_TAGS[Honour.Kind.OTHER]))[:50]
    tag, _created = Tag.objects.get_or_create(name=name)
    if not person.tags.filter(pk=tag.pk).exists():
        person.tags.add(tag)
        audit.record(
            actor=actor, action="person.tag", target=person, changes=[{"field": "tags", "old": None, "new": name}],
            reason=_reason(row),
        )  # fmt: skip


def _decision_save(*, row: MatchRow, person_id: int, decision: str, honour: Honour | None, actor) -> None:
    MatchDecision.objects.update_or_create(
        fingerprint=row.fingerprint,
        person_id=person_id,
        defaults={
            "decision": decision,
            "honour": honour,
            "job": row.job,
            "decided_by": actor if getattr(actor, "is_authenticated", False) else None,
            "decided_at": timezone.now(),
        },
    )


def _locked(candidate: MatchCandidate) -> MatchCandidate:
    """The candidate again, its row locked against concurrent decisions (no-op on SQLite)."""
    MatchRow.objects.select_for_update().filter(pk=candidate.row_id).first()
    return MatchCandidate.objects.select_related("row__job", "person").get(pk=candidate.pk)


@transaction.atomic
def match_candidate_confirm(*, candidate: MatchCandidate, actor) -> MatchCandidate:
    """Confirm that the row names this person: write the honour and the tag once, reject the others.

    Confirming again (a double click, a second tab, a re-run list) changes nothing and writes no
    second honour; confirming a second person for the row (a stale page) is refused.
    """
    candidate = _locked(candidate)
    row = candidate.row
    if row.candidates.exclude(pk=candidate.pk).filter(decision=Decision.CONFIRMED).exists():
        raise ValidationError(_("Another candidate of this row was already confirmed."), code="other_confirmed")
    advisory_xact_lock(f"matching:decision:{row.fingerprint}:{candidate.person_id}")
    earlier = MatchDecision.objects.filter(fingerprint=row.fingerprint, person_id=candidate.person_id).first()
    if candidate.decision == Decision.CONFIRMED and candidate.honour_id:
        return candidate
    honour = None
    if earlier is not None and earlier.decision == Decision.CONFIRMED and earlier.honour_id:
        honour = Honour.objects.filter(pk=earlier.honour_id).first()
    created = False
    if honour is None:
        honour, created = _honour_ensure(person=candidate.person, row=row, actor=actor)
    _tag(person=candidate.person, row=row, honour=honour, actor=actor)
    now = timezone.now()
    decided_by = actor if getattr(actor, "is_authenticated", False) else None
    MatchCandidate.objects.filter(pk=candidate.pk).update(
        decision=Decision.CONFIRMED, decided_by=decided_by, decided_at=now, honour=honour
    )
    _decision_save(row=row, person_id=candidate.person_id, decision=Decision.CONFIRMED, honour=honour, actor=actor)
    others = list(
        row.candidates.exclude(pk=candidate.pk).filter(decision=Decision.PENDING).values_list("person_id", flat=True)
    )
    row.candidates.filter(person_id__in=others).update(
        decision=Decision.REJECTED, decided_by=decided_by, decided_at=now
    )
    for person_id in others:
        _decision_save(row=row, person_id=person_id, decision=Decision.REJECTED, honour=None, actor=actor)
    MatchRow.objects.filter(pk=row.pk).update(resolution=MatchRow.Resolution.CONFIRMED)
    audit.record(
        actor=actor,
        action="matching.confirm",
        target=candidate.person,
        changes=[{"field": "honours", "old": None, "new": str(honour)}] if created else [],
        reason=_reason(row),
    )
    candidate.refresh_from_db()
    return candidate


@transaction.atomic
def match_candidate_reject(*, candidate: MatchCandidate, actor) -> MatchCandidate:
    """Record that the row does not name this person; refused for a confirmed candidate."""
    candidate = _locked(candidate)
    row = candidate.row
    if candidate.decision == Decision.CONFIRMED:
        raise ValidationError(
            _("This candidate was confirmed and has an honour; remove the honour on the person's record instead."),
            code="confirmed",
        )
    decided_by = actor if getattr(actor, "is_authenticated", False) else None
    MatchCandidate.objects.filter(pk=candidate.pk).update(
        decision=Decision.REJECTED, decided_by=decided_by, decided_at=timezone.now()
    )
    _decision_save(row=row, person_id=candidate.person_id, decision=Decision.REJECTED, honour=None, actor=actor)
    states = list(row.candidates.values_list("decision", flat=True))
    MatchRow.objects.filter(pk=row.pk).update(resolution=resolution_for(states))
    audit.record(actor=actor, action="matching.reject", target=candidate.person, reason=_reason(row))
    candidate.refresh_from_db()
    return candidate


@transaction.atomic
def match_row_reject(*, row: MatchRow, actor) -> int:
    """The row names none of its candidates: reject every pending one. Returns how many."""
    row = MatchRow.objects.select_for_update().select_related("job").get(pk=row.pk)
    if row.candidates.filter(decision=Decision.CONFIRMED).exists():
        raise ValidationError(
            _("A candidate of this row was confirmed; it cannot be marked as not an alumnus."), code="confirmed"
        )
    pending = list(row.candidates.filter(decision=Decision.PENDING).values_list("person_id", flat=True))
    decided_by = actor if getattr(actor, "is_authenticated", False) else None
    row.candidates.filter(person_id__in=pending).update(
        decision=Decision.REJECTED, decided_by=decided_by, decided_at=timezone.now()
    )
    for person_id in pending:
        _decision_save(row=row, person_id=person_id, decision=Decision.REJECTED, honour=None, actor=actor)
    MatchRow.objects.filter(pk=row.pk).update(resolution=MatchRow.Resolution.NO_MATCH)
    audit.record(actor=actor, action="matching.no_match", target=row, reason=_reason(row))
    return len(pending)


def match_job_accept_high_start(*, job: MatchJob, actor) -> None:
    """Queue the bulk acceptance of a job's high-confidence rows (after this transaction commits)."""
    from ..tasks import match_job_accept_high_task

    audit.record(actor=actor, action="matching.accept_high", target=job)
    transaction.on_commit(lambda: match_job_accept_high_task.delay(job.pk, actor.pk))


def match_job_accept_high(*, job: MatchJob, actor, visible_person_ids=None) -> int:
    """Confirm the best candidate of every high-confidence row still to decide; returns how many.

    Each row is its own transaction (a failure leaves the rows before it confirmed). Candidates
    outside ``visible_person_ids`` (a queryset or set of ids, when given) are skipped, and so are rows
    where staff confirmed another candidate meanwhile.
    """
    confirmed = 0
    tops = MatchCandidate.objects.filter(
        row__job=job, row__band=Band.HIGH, row__resolution=MatchRow.Resolution.PENDING, rank=1,
        decision=Decision.PENDING,
    ).order_by("row__row")  # fmt: skip
    if visible_person_ids is not None:
        tops = tops.filter(person_id__in=visible_person_ids)
    for candidate in list(tops):
        try:
            match_candidate_confirm(candidate=candidate, actor=actor)
        except ValidationError as exc:
            if getattr(exc, "code", None) != "other_confirmed":
                raise
            continue  # staff confirmed another candidate of the row since the list was read
        confirmed += 1
    return confirmed
