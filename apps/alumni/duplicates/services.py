"""Writes of the duplicate finder: scans, staff decisions on pairs, and pairs after a merge."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.locks import advisory_xact_lock

from ..models import DuplicatePair, DuplicateScan
from .rules import MAX_GROUP_SIZE
from .scan import PAIRS_LOCK, scan_all

# A queued or running scan whose row has not moved for this long was lost with its worker.
STALE_AFTER = timedelta(minutes=30)
_ACTIVE = (DuplicateScan.Status.PENDING, DuplicateScan.Status.RUNNING)


@transaction.atomic
def duplicate_scan_request(*, actor, max_group_size: int = MAX_GROUP_SIZE, enqueue: bool = True) -> DuplicateScan:
    """Queue a scan of all people; raises ApplicationError while another scan is queued or running."""
    advisory_xact_lock("alumni.duplicate_scan")
    stale_before = timezone.now() - STALE_AFTER
    DuplicateScan.objects.filter(status__in=_ACTIVE, updated_at__lt=stale_before).update(
        status=DuplicateScan.Status.FAILED,
        error=f"abandoned: no progress for {STALE_AFTER.total_seconds() // 60:.0f} minutes",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if DuplicateScan.objects.filter(status__in=_ACTIVE).exists():
        raise ApplicationError(_("A duplicate scan is already queued or running."), code="scan_active")
    scan = DuplicateScan.objects.create(requested_by=actor, max_group_size=max_group_size)
    if enqueue:
        from ..tasks import duplicate_scan_task

        transaction.on_commit(lambda: duplicate_scan_task.delay(scan.pk))
    return scan


def duplicate_scan_run(*, scan_id: int | None = None) -> DuplicateScan | None:
    """Run one queued scan (or, without an id, queue and run one now); a no-op if it is done,
    running elsewhere or gone. Safe to call twice: the second call finds the scan finished.
    """
    if scan_id is None:
        try:
            scan_id = duplicate_scan_request(actor=None, enqueue=False).pk
        except ApplicationError:
            return None  # the scan already queued or running covers this one
    now = timezone.now()
    claimable = Q(status=DuplicateScan.Status.PENDING) | Q(
        status=DuplicateScan.Status.RUNNING, updated_at__lt=now - STALE_AFTER
    )
    claimed = (
        DuplicateScan.objects.filter(claimable, pk=scan_id).update(
            status=DuplicateScan.Status.RUNNING, started_at=now, updated_at=now, progress=0, step="", error=""
        )
        == 1
    )
    if not claimed:
        return None
    scan = DuplicateScan.objects.get(pk=scan_id)

    def report(step: str, percent: int) -> None:
        DuplicateScan.objects.filter(pk=scan_id).update(step=step, progress=percent, updated_at=timezone.now())

    try:
        result = scan_all(scan=scan, report=report)
    except BaseException as exc:
        DuplicateScan.objects.filter(pk=scan_id).update(
            status=DuplicateScan.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        raise
    DuplicateScan.objects.filter(pk=scan_id).update(
        status=DuplicateScan.Status.DONE,
        step="",
        progress=100,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
        pairs_found=result.pairs_found,
        pairs_new=result.pairs_new,
        pairs_removed=result.pairs_removed,
        summary=result.summary,
    )
    scan.refresh_from_db()
    return scan


def _decide(pairs: QuerySet[DuplicatePair], *, actor, old: str, new: str, action: str) -> int:
    now = timezone.now()
    changed = 0
    # Lock the pair rows only (not the people the caller's queryset may join for display).
    locked = DuplicatePair.objects.select_for_update().filter(pk__in=pairs.order_by().values("pk"), status=old)
    for pair in locked.order_by("pk"):
        pair.status = new
        pair.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        pair.decided_at = now
        pair.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        audit.record(
            actor=actor,
            action=action,
            target=pair,
            changes=[
                {"field": "status", "old": old, "new": new},
                {"field": "people", "old": None, "new": [pair.person_a_id, pair.person_b_id]},
            ],
        )
        changed += 1
    return changed


@transaction.atomic
def duplicate_pairs_mark_not_same(*, pairs: QuerySet[DuplicatePair], actor) -> int:
    """Record that each pending pair is two different people; later scans never reopen them.

    ``pairs`` must already be scoped to what ``actor`` may see. Returns how many changed.
    """
    return _decide(
        pairs,
        actor=actor,
        old=DuplicatePair.Status.PENDING,
        new=DuplicatePair.Status.NOT_SAME,
        action="duplicate.not_same",
    )


@transaction.atomic
def duplicate_pairs_reopen(*, pairs: QuerySet[DuplicatePair], actor) -> int:
    """Undo a "not the same person" decision: the pairs are back in the review queue."""
    return _decide(
        pairs,
        actor=actor,
        old=DuplicatePair.Status.NOT_SAME,
        new=DuplicatePair.Status.PENDING,
        action="duplicate.reopen",
    )


def duplicate_pairs_on_merge(*, keep_id: int, other_id: int) -> None:
    """Move ``other``'s pairs to ``keep`` before ``other`` is deleted by person_merge.

    The merged pair itself goes. A "not the same person" decision about ``other`` and X holds for
    ``keep`` and X too (it wins over a pending pair); pending pairs follow until the next scan
    refreshes their evidence. Must run inside person_merge's transaction.
    """
    advisory_xact_lock(PAIRS_LOCK)
    involving = DuplicatePair.objects.filter(Q(person_a_id=other_id) | Q(person_b_id=other_id)).select_for_update()
    for pair in involving:
        partner = pair.person_b_id if pair.person_a_id == other_id else pair.person_a_id
        if partner == keep_id:
            pair.delete()
            continue
        a, b = sorted((keep_id, partner))
        existing = DuplicatePair.objects.select_for_update().filter(person_a_id=a, person_b_id=b).first()
        if existing is None:
            pair.person_a_id, pair.person_b_id = a, b
            pair.save(update_fields=["person_a", "person_b", "updated_at"])
            continue
        if pair.status == DuplicatePair.Status.NOT_SAME and existing.status != DuplicatePair.Status.NOT_SAME:
            existing.status = pair.status
            existing.decided_by_id, existing.decided_at = pair.decided_by_id, pair.decided_at
            existing.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        pair.delete()
