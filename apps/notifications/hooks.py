"""Emit "person.updated" webhooks when a person or one of their rows is saved or deleted.

Connected in ``NotificationsConfig.ready`` (apps.alumni is not edited). The outbox row is written
in the saving transaction, so a rolled-back change emits nothing. Without an active subscriber the
handler costs one cache read. Set-based writes (the roster import's COPY pipeline) send no signals
and therefore emit nothing; subscribers learn of imports through their own sync.
"""

from django.db.models.signals import post_delete, post_save

from apps.alumni.models import ContactChannel, Employment, Enrollment, Honour, Person


def _emit(person_id, change: str) -> None:
    from .services.webhooks import webhook_emit

    if person_id is not None:
        webhook_emit("person.updated", {"person_id": person_id, "change": change})


def on_person_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        _emit(instance.pk, "created" if created else "updated")


def on_row_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _emit(instance.person_id, sender._meta.model_name)


def connect() -> None:
    post_save.connect(on_person_saved, sender=Person, dispatch_uid="notifications.person_updated")
    for model in (ContactChannel, Employment, Enrollment, Honour):
        post_save.connect(on_row_changed, sender=model, dispatch_uid=f"notifications.{model._meta.model_name}_saved")
        post_delete.connect(
            on_row_changed, sender=model, dispatch_uid=f"notifications.{model._meta.model_name}_deleted"
        )
