"""Sign-in backends whose session user comes with the alumni record linked to it.

They behave as Django's and allauth's own backends; only loading the user of a session differs
(``selectors.session_user``: one prepared statement on PostgreSQL, for the user and the record
that every portal request needs next). Other databases load the user the usual way.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connection

from . import selectors


class _SessionUserWithRecord:
    def get_user(self, user_id):
        if connection.vendor != "postgresql":
            return super().get_user(user_id)
        user = selectors.session_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_SessionUserWithRecord, DjangoModelBackend):
    pass


class AuthenticationBackend(_SessionUserWithRecord, AllauthBackend):
    pass
