"""Action rules for communications; which rows a user sees is in selectors.py."""

from apps.core.scoping import scope_for


def can_manage_messages(user) -> bool:
    """Staff with a scope (the office, college staff, liaisons) and the message permission."""
    return bool(
        user and user.is_active and scope_for(user).governs_anything and user.has_perm("notifications.add_message")
    )


def can_send_message(user, message) -> bool:
    """The office sends any message; others only their own (recipients are cut to their scope anyway)."""
    if not can_manage_messages(user):
        return False
    return scope_for(user).whole_school or message.created_by_id == user.pk
