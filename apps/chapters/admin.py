from django.contrib import admin

from .models import Chapter, ChapterMembership


class ChapterMembershipInline(admin.TabularInline):
    model = ChapterMembership
    raw_id_fields = ["person"]
    extra = 0


@admin.register(Chapter)
class ChapterAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "province", "city", "college", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "city"]
    inlines = [ChapterMembershipInline]
