"""Alumni news: consent to be named, publication, WeChat export, channels and the yearly report."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.news import services
from apps.news.models import NewsItem, Publication
from apps.news.selectors import news_yearly_report
from apps.notifications.services import consent_set
from tests.alumni.factories import EnrollmentFactory, PersonFactory
from tests.news.factories import NewsItemFactory, NewsPersonFactory

pytestmark = pytest.mark.django_db


def _agree(person):
    consent_set(person=person, channel="public", category="news", granted=True, source="staff", statement="电话同意")


def test_published_page_names_only_people_who_agreed(client, staff):
    item = NewsItemFactory(kind=NewsItem.Kind.ACHIEVEMENT, body="两位校友获得表彰。")
    agreed = NewsPersonFactory(news=item, person=PersonFactory(name="李院士"), note="当选院士")
    silent = NewsPersonFactory(news=item, person=PersonFactory(name="王工程师"), note="获劳模称号")
    _agree(agreed.person)
    services.newsitem_publish(item=item, actor=staff)
    page = client.get(reverse("news:newsitem-detail", args=[item.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "李院士" in text
    assert "当选院士" in text
    assert "王工程师" not in text
    assert "获劳模称号" not in text
    assert silent.pk
    assert client.get(reverse("news:newsitem-list")).context["items"][0] == item


def test_publishing_refused_while_the_text_names_someone_who_did_not_agree(staff):
    item = NewsItemFactory(body="王工程师荣获全国劳动模范称号。")
    NewsPersonFactory(news=item, person=PersonFactory(name="王工程师"))
    with pytest.raises(ValidationError):
        services.newsitem_publish(item=item, actor=staff)
    item.refresh_from_db()
    assert item.status == NewsItem.Status.DRAFT


def test_drafts_are_not_public(client):
    item = NewsItemFactory()
    assert client.get(reverse("news:newsitem-detail", args=[item.pk])).status_code == 404


def test_only_the_office_publishes(college_staff, college):
    item = NewsItemFactory(college=college)
    with pytest.raises(PermissionDenied):
        services.newsitem_publish(item=item, actor=college_staff)
    assert NewsItem.objects.get().status == NewsItem.Status.DRAFT


def test_wechat_export_is_ready_to_paste_and_audited(client, staff):
    item = NewsItemFactory(title="校友风采", body="第一段。\n\n第二段。")
    link = NewsPersonFactory(news=item, person=PersonFactory(name="赵校友"))
    hidden = NewsPersonFactory(news=item, person=PersonFactory(name="钱校友"))
    _agree(link.person)
    client.force_login(staff)
    response = client.get(reverse("admin:news_newsitem_wechat", args=[item.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    html = response.content.decode()
    assert "<h1 style=" in html
    assert html.count("<p style=") >= 3
    assert "赵校友" in html
    assert "钱校友" not in html
    assert AuditEvent.objects.filter(action="news.export_wechat", target_id=str(item.pk)).exists()
    assert hidden.pk


def test_yearly_report_counts_items_honoured_alumni_and_reach(staff):
    honoured = [PersonFactory() for _ in range(3)]
    for kind, count in ((NewsItem.Kind.ARTICLE, 2), (NewsItem.Kind.STORY, 1)):
        for _ in range(count):
            services.newsitem_publish(item=NewsItemFactory(kind=kind), actor=staff)
    achievement = NewsItemFactory(kind=NewsItem.Kind.ACHIEVEMENT, body="表彰。")
    for person in honoured:
        NewsPersonFactory(news=achievement, person=person)
    services.newsitem_publish(item=achievement, actor=staff)
    year = NewsItem.objects.get(pk=achievement.pk).published_at.year
    services.publication_record(
        item=achievement, channel="wechat", published_on=date(year, 3, 1), actor=staff, reads=5000, likes=80
    )
    services.publication_record(
        item=achievement, channel="wechat", published_on=date(year, 3, 1), actor=staff, reads=7000
    )
    services.publication_record(
        item=achievement, channel="website", published_on=date(year, 3, 2), actor=staff, reads=900
    )
    report = news_yearly_report(year)
    assert (report["articles"], report["stories"], report["achievements"], report["honoured_alumni"]) == (2, 1, 1, 3)
    wechat = next(row for row in report["channels"] if row["channel"] == "wechat")
    assert (wechat["publications"], wechat["reads"]) == (1, 7000)  # corrected, not added twice
    assert Publication.objects.count() == 2


def test_news_admin_is_scoped_by_college(client, college_staff, college, other_college, staff):
    mine = NewsItemFactory(college=college)
    theirs = NewsItemFactory(college=other_college)
    client.force_login(college_staff)
    assert client.get(reverse("admin:news_newsitem_change", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:news_newsitem_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:news_newsitem_wechat", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:news_newsitem_report")).status_code == 403
    client.force_login(staff)
    report = client.get(reverse("admin:news_newsitem_report"))
    assert report.status_code == 200


def test_news_admin_refuses_alumni_and_anonymous(client, alumnus):
    item = NewsItemFactory()
    url = reverse("admin:news_newsitem_change", args=[item.pk])
    assert client.get(url).status_code == 302
    client.force_login(alumnus)
    assert client.get(url).status_code in (302, 403)


def test_college_staff_link_only_people_they_may_see(college_staff, college, other_college):
    item = NewsItemFactory(college=college)
    outsider = PersonFactory()
    EnrollmentFactory(person=outsider, college=other_college)
    NewsPersonFactory(news=item, person=outsider)
    with pytest.raises(ValidationError):
        services.newsitem_people_check(item=item, actor=college_staff)


def test_a_published_item_cannot_be_edited_into_naming_someone_who_did_not_agree(staff):
    item = NewsItemFactory(body="一位校友获得表彰。")
    NewsPersonFactory(news=item, person=PersonFactory(name="王工程师"))
    services.newsitem_publish(item=item, actor=staff)
    item.refresh_from_db()
    item.body = "王工程师荣获全国劳动模范称号。"
    with pytest.raises(ValidationError):
        services.newsitem_save(item=item, actor=staff)
    assert NewsItem.objects.get(pk=item.pk).body == "一位校友获得表彰。"


def test_links_added_to_a_published_item_in_the_admin_are_checked_for_consent(client, staff):
    from tests.accounts.factories import UserFactory

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    item = NewsItemFactory(title="表彰", body="王工程师荣获全国劳动模范称号。")
    services.newsitem_publish(item=item, actor=staff)
    person = PersonFactory(name="王工程师")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:news_newsitem_change", args=[item.pk]),
        {
            "title": item.title,
            "summary": "",
            "body": item.body,
            "kind": item.kind,
            "college": "",
            "links-TOTAL_FORMS": "1",
            "links-INITIAL_FORMS": "0",
            "links-MIN_NUM_FORMS": "0",
            "links-MAX_NUM_FORMS": "1000",
            "links-0-person": person.pk,
            "links-0-achievement": "",
            "links-0-note": "",
        },
    )
    assert response.status_code == 403
    assert not item.links.exists()


def test_only_publishers_change_a_published_item(client, college_staff, college, staff):
    item = NewsItemFactory(college=college, body="第一段。")
    services.newsitem_publish(item=item, actor=staff)
    item.refresh_from_db()
    assert not services.can_edit_news(college_staff, item)
    assert services.can_edit_news(staff, item)
    item.body = "改过的正文。"
    with pytest.raises(PermissionDenied):
        services.newsitem_save(item=item, actor=college_staff)
    client.force_login(college_staff)
    url = reverse("admin:news_newsitem_change", args=[item.pk])
    assert client.get(url).status_code == 200  # still viewable
    response = client.post(url, {"title": item.title, "summary": "", "body": "改过的正文。", "kind": item.kind})
    assert response.status_code == 403
    assert NewsItem.objects.get(pk=item.pk).body == "第一段。"
