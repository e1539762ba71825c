from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the clear value. Not searchable: pair with a hash."""

    def from_db_value(self, value, expression, connection):
        return crypto.decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return crypto.encrypt(value) if value else value
