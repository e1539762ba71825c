"""The communications rights of each role, added to the accounts app's role groups at start-up.

``apps.accounts.services.ROLE_PERMISSIONS`` is the one list ``role_groups_sync`` applies after
every migrate; this app appends its own entries in ``ready()`` instead of editing that module.
"""

from apps.accounts.models import Role

_MAILING = ["segment", "message"]


def _crud(models: list[str], verbs=("view", "add", "change", "delete")) -> list[str]:
    return [f"notifications.{verb}_{model}" for model in models for verb in verbs]


NOTIFICATIONS_PERMISSIONS: dict[str, list[str]] = {
    Role.OFFICE_ADMIN: [
        *_crud(_MAILING),
        *_crud(["webhooksubscription"]),
        "notifications.view_outboxitem",
        "notifications.view_bounceevent",
        "notifications.add_bounceevent",
        "notifications.view_consentevent",
        "notifications.add_consentevent",
    ],
    Role.OFFICE_STAFF: [
        *_crud(_MAILING, ("view", "add", "change")),
        "notifications.view_outboxitem",
        "notifications.view_bounceevent",
        "notifications.add_bounceevent",
        "notifications.view_consentevent",
        "notifications.add_consentevent",
    ],
    # College staff message their own colleges' people only (scoping).
    Role.COLLEGE_STAFF: [*_crud(_MAILING, ("view", "add", "change"))],
}


def extend_role_permissions(extra: dict[str, list[str]] | None = None) -> None:
    """Append rights to the role lists (idempotent); other apps of this area pass their own."""
    from apps.accounts.services import ROLE_PERMISSIONS

    for role, names in (extra or NOTIFICATIONS_PERMISSIONS).items():
        current = ROLE_PERMISSIONS.setdefault(role, [])
        current.extend(name for name in names if name not in current)
