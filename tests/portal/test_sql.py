import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.cache import RedisCache
from apps.portal import sql
from apps.portal.models import LookupStat
from apps.portal.selectors import relations_of, session_user, viewer_person
from tests.alumni.factories import PersonFactory

from .factories import verified_alumnus


def test_sql_portable_text_expands_lists_and_repeats():
    text, params = sql._portable("a = ANY($1) AND b = $2 AND c = ANY($1) AND d = $2", [[1, 2], 5])
    assert text == "a IN (%s, %s) AND b = %s AND c IN (%s, %s) AND d = %s"
    assert params == [1, 2, 5, 1, 2, 5]
    assert sql._portable("x = ANY($1)", [[]]) == ("x IN ()", [])


@pytest.mark.django_db(transaction=True)
def test_sql_prepared_statements_survive_a_new_connection():
    viewer = verified_alumnus()
    assert relations_of(viewer.pk, [viewer.pk + 1]) == {viewer.pk + 1: set()}
    connection.close()  # the next query opens a new session, where nothing is prepared yet
    assert relations_of(viewer.pk, [viewer.pk + 1]) == {viewer.pk + 1: set()}
    if connection.vendor == "postgresql":
        assert "portal_relations" in sql._prepared[connection.connection]


def _lookup(client, **params):
    response = client.get(reverse("api-directory"), params, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement paths are PostgreSQL's")
@pytest.mark.django_db
def test_sql_signed_in_lookup_is_three_statements(client):
    """The session's user comes with its alumni record; the page's details come with the count."""
    viewer = verified_alumnus(name="王一")
    PersonFactory(name="王二", show_in_directory=True)
    client.force_login(viewer.user)
    _lookup(client, q="王")  # prepares the statements on this connection
    with CaptureQueriesContext(connection) as queries:
        assert [entry["name"] for entry in _lookup(client, q="王")["results"]] == ["王一", "王二"]
    statements = [q["sql"] for q in queries.captured_queries if "django_session" not in q["sql"]]
    assert len(statements) == 3, statements
    assert statements[0].startswith("EXECUTE portal_session_user")
    assert statements[2].startswith("EXECUTE portal_page")
    assert LookupStat.objects.get(kind="name", bucket="2-20").count == 2


@pytest.mark.django_db
def test_sql_lookups_are_counted_once_with_or_without_results(client):
    viewer = verified_alumnus(name="王一")
    client.force_login(viewer.user)
    _lookup(client, q="王")
    _lookup(client, q="赵")
    _lookup(client, q="王", page=2)  # later pages are not lookups of their own
    assert dict(LookupStat.objects.filter(kind="name").values_list("bucket", "count")) == {"1": 1, "0": 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement paths are PostgreSQL's")
@pytest.mark.django_db
def test_sql_session_user_comes_with_the_living_record_only():
    viewer = verified_alumnus()
    user = session_user(str(viewer.user.pk))
    assert user == viewer.user
    assert viewer_person(user) == viewer
    assert viewer_person(user).user is user  # no second query for the way back
    viewer.is_deceased = True
    viewer.save(update_fields=["is_deceased"])
    assert viewer_person(session_user(viewer.user.pk)) is None
    assert session_user("not a number") is None
    assert session_user(viewer.user.pk + 1000) is None


def test_sql_redis_cache_keeps_one_client_per_pool():
    cache = RedisCache("redis://127.0.0.1:6379/15", {})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client  # one server: reads and writes share its pool
