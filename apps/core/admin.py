from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The processing log, readable by office staff; nobody may add, change or delete rows."""

    list_display = ["created_at", "actor", "action", "target_type", "target_repr", "changed_fields", "ip_address"]
    list_filter = ["action", "target_type"]
    search_fields = ["=target_id", "target_repr", "actor__email"]
    list_select_related = ["actor"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ("target_type", "target_id") or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("fields"))
    def changed_fields(self, event):
        return ", ".join(str(c.get("field")) for c in event.changes if isinstance(c, dict))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
