"""Candidates and decisions follow a person through a merge of duplicate records."""

from django.dispatch import receiver

from apps.alumni.signals import person_merging

from .models import Decision, MatchCandidate, MatchDecision

_DECIDED = {
    MatchCandidate: ("decision", "decided_by", "decided_at", "honour"),
    MatchDecision: ("decision", "decided_by", "decided_at", "honour", "job"),
}


def _move(model, key: str, keep, other) -> None:
    """One per (``key``, person): the other record's rows move to ``keep`` unless keep has one for
    that key; then a confirmation on the other record's row wins over keep's pending or rejection."""
    mine = {getattr(row, key): row for row in model.objects.filter(person=keep)}
    model.objects.filter(person=other).exclude(**{f"{key}__in": list(mine)}).update(person=keep)
    fields = _DECIDED[model]
    for theirs in model.objects.filter(person=other, decision=Decision.CONFIRMED, **{f"{key}__in": list(mine)}):
        ours = mine[getattr(theirs, key)]
        if ours.decision != Decision.CONFIRMED:
            for name in fields:
                setattr(ours, name, getattr(theirs, name))
            ours.save(update_fields=list(fields))


@receiver(person_merging, dispatch_uid="matching.candidates_on_merge")
def move_candidates_and_decisions(sender, keep, other, **kwargs):
    _move(MatchCandidate, "row_id", keep, other)
    _move(MatchDecision, "fingerprint", keep, other)
