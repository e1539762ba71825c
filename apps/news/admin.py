from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.alumni.selectors import visible_people
from apps.core.errors import ApplicationError
from apps.core.scoping import scope_for

from .models import NewsItem, NewsPerson, Publication
from .selectors import news_yearly_report, news_years, unnamed_links, visible_news
from .services import (
    can_edit_news,
    newsitem_consent_check,
    newsitem_people_check,
    newsitem_publish,
    newsitem_save,
    newsitem_unpublish,
    publication_record,
    wechat_html,
)


class NewsPersonInline(admin.TabularInline):
    model = NewsPerson
    extra = 1
    autocomplete_fields = ["person"]
    fields = ["person", "achievement", "note"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "person":
            kwargs["queryset"] = visible_people(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(NewsItem)
class NewsItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "college", "published_at", "author"]
    list_filter = ["status", "kind"]
    search_fields = ["title"]
    list_select_related = ["college", "author"]
    fields = ["title", "summary", "body", "kind", "college", "status", "published_at"]
    readonly_fields = ["status", "published_at"]
    inlines = [NewsPersonInline]
    change_form_template = "news/admin/newsitem_change_form.html"
    change_list_template = "news/admin/newsitem_change_list.html"
    actions = ["publish_selected"]

    def get_queryset(self, request):
        return visible_news(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such record."))
        return obj

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or can_edit_news(request.user, obj))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "college":
            from apps.alumni.models import College

            scope = scope_for(request.user)
            colleges = College.objects.all()
            kwargs["queryset"] = colleges if scope.whole_school else colleges.filter(pk__in=scope.college_ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            newsitem_save(item=obj, actor=request.user)
        except ValidationError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from exc

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        try:
            newsitem_people_check(item=form.instance, actor=request.user)
            if form.instance.status == NewsItem.Status.PUBLISHED:
                newsitem_consent_check(item=form.instance)  # links added to a published item
        except ValidationError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from exc

    def change_view(self, request, object_id, form_url="", extra_context=None):
        item = visible_news(request.user).filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra = {
            "unnamed": list(unnamed_links(item)) if item else [],
            "can_publish": request.user.has_perm("news.publish_newsitem"),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @admin.action(description=gettext_lazy("Publish the selected items"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        for item in queryset:
            try:
                newsitem_publish(item=item, actor=request.user)
            except (ValidationError, ApplicationError) as exc:
                message = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
                self.message_user(request, f"{item}: {message}", messages.ERROR)

    def has_publish_permission(self, request):
        return request.user.has_perm("news.publish_newsitem")

    def get_urls(self):
        return [
            path("report/", self.admin_site.admin_view(self.report_view), name="news_newsitem_report"),
            path("<int:pk>/wechat/", self.admin_site.admin_view(self.wechat_view), name="news_newsitem_wechat"),
            path("<int:pk>/publish/", self.admin_site.admin_view(self.publish_view), name="news_newsitem_publish"),
            path(
                "<int:pk>/unpublish/", self.admin_site.admin_view(self.unpublish_view), name="news_newsitem_unpublish"
            ),
            *super().get_urls(),
        ]

    def _item(self, request, pk) -> NewsItem:
        item = visible_news(request.user).filter(pk=pk).first()
        if item is None or not self.has_view_or_change_permission(request, item):
            raise Http404(_("No such record."))
        return item

    def wechat_view(self, request, pk):
        """Download a ready-to-paste HTML version for the WeChat official account."""
        item = self._item(request, pk)
        response = HttpResponse(wechat_html(item=item, actor=request.user), content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="news-{item.pk}-wechat.html"'
        return response

    def publish_view(self, request, pk):
        item = self._item(request, pk)
        if request.method == "POST":
            try:
                newsitem_publish(item=item, actor=request.user)
                self.message_user(request, _("Published."), messages.SUCCESS)
            except (ValidationError, ApplicationError) as exc:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
                self.message_user(request, text, messages.ERROR)
        return redirect("admin:news_newsitem_change", item.pk)

    def unpublish_view(self, request, pk):
        item = self._item(request, pk)
        if request.method == "POST":
            newsitem_unpublish(item=item, actor=request.user)
            self.message_user(request, _("Withdrawn from the portal."), messages.SUCCESS)
        return redirect("admin:news_newsitem_change", item.pk)

    def report_view(self, request):
        if not request.user.has_perm("news.view_publication"):
            raise PermissionDenied
        try:
            year = int(request.GET.get("year") or timezone.localdate().year)
        except ValueError:
            year = timezone.localdate().year
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("News and publications in %(year)s") % {"year": year},
            "report": news_yearly_report(year),
            "years": sorted({*news_years(), year}, reverse=True),
            "changelist_url": reverse("admin:news_newsitem_changelist"),
        }
        return TemplateResponse(request, "news/admin/report.html", context)


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    list_display = ["news", "channel", "published_on", "reads", "likes", "shares", "entered_by"]
    list_filter = ["channel"]
    date_hierarchy = "published_on"
    list_select_related = ["news", "entered_by"]
    fields = ["news", "channel", "published_on", "url", "reads", "likes", "shares"]
    autocomplete_fields = ["news"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(news__in=visible_news(request.user))

    def save_model(self, request, obj, form, change):
        saved = publication_record(
            item=obj.news,
            channel=obj.channel,
            published_on=obj.published_on,
            actor=request.user,
            url=obj.url,
            reads=obj.reads,
            likes=obj.likes,
            shares=obj.shares,
        )
        obj.pk = saved.pk
