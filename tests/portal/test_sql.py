import pytest
from django.db import connection

from apps.portal import sql
from apps.portal.selectors import relations_of

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
