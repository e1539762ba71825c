import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from apps.alumni.models import Person
from apps.core import crypto
from tests.alumni.factories import PersonFactory

ID_NUMBER = "11010519491231002X"
# Read the stored column past the field, to see what the database really holds.
RAW_SELECT = "SELECT id_number, id_number_hash FROM alumni_person WHERE id = %s"


def _key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _fresh_fernet_cache():
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def test_encrypt_decrypt_round_trip():
    token = crypto.encrypt(ID_NUMBER)
    assert token != ID_NUMBER
    assert ID_NUMBER not in token
    assert crypto.decrypt(token) == ID_NUMBER


def test_encrypt_round_trip_non_ascii():
    value = "张伟 𠮷 ·"
    assert crypto.decrypt(crypto.encrypt(value)) == value


def test_encrypt_is_randomised():
    # Fernet uses a random IV: equal clear values do not give equal ciphertexts.
    assert crypto.encrypt(ID_NUMBER) != crypto.encrypt(ID_NUMBER)


def test_decrypt_with_new_first_key_reads_old_values():
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        old_token = crypto.encrypt(ID_NUMBER)
    crypto._fernet.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert crypto.decrypt(old_token) == ID_NUMBER
        new_token = crypto.encrypt(ID_NUMBER)
    crypto._fernet.cache_clear()
    # The new first key encrypts: the old key alone cannot read what was written after rotation.
    assert Fernet(new.encode()).decrypt(new_token.encode()).decode() == ID_NUMBER
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]), pytest.raises(ImproperlyConfigured):
        crypto.decrypt(new_token)


def test_decrypt_after_old_key_removed_fails_loudly():
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt(ID_NUMBER)
    crypto._fernet.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]), pytest.raises(ImproperlyConfigured):
        crypto.decrypt(token)


def test_decrypt_tampered_token_refused():
    token = crypto.encrypt(ID_NUMBER)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(tampered)


def test_fernet_without_keys_is_improperly_configured():
    with override_settings(FIELD_ENCRYPTION_KEYS=[]), pytest.raises(ImproperlyConfigured):
        crypto.encrypt(ID_NUMBER)


def test_lookup_hash_stable_and_not_clear():
    first = crypto.lookup_hash(ID_NUMBER)
    assert first == crypto.lookup_hash(ID_NUMBER)
    assert len(first) == 64
    assert ID_NUMBER not in first
    assert first != crypto.lookup_hash("110105194912310021")


def test_lookup_hash_keyed():
    with override_settings(FIELD_ENCRYPTION_KEYS=[_key()]):
        one = crypto.lookup_hash(ID_NUMBER)
    with override_settings(FIELD_ENCRYPTION_KEYS=[_key()]):
        other = crypto.lookup_hash(ID_NUMBER)
    assert one != other


def test_lookup_hash_survives_key_rotation():
    # Stored id_number_hash values must still match after a new encryption key is prepended.
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        before = crypto.lookup_hash(ID_NUMBER)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        after = crypto.lookup_hash(ID_NUMBER)
    assert before == after


@pytest.mark.django_db
def test_encrypted_field_stores_ciphertext_and_reads_clear_value():
    person = PersonFactory(id_number=ID_NUMBER.lower())
    with connection.cursor() as cursor:
        cursor.execute(RAW_SELECT, [person.pk])
        stored, stored_hash = cursor.fetchone()
    assert ID_NUMBER not in stored
    assert crypto.decrypt(stored) == ID_NUMBER
    assert stored_hash == crypto.lookup_hash(ID_NUMBER)
    assert Person.objects.get(pk=person.pk).id_number == ID_NUMBER
    assert list(Person.objects.filter(id_number_hash=crypto.lookup_hash(ID_NUMBER))) == [person]


@pytest.mark.django_db
def test_encrypted_field_blank_value_stays_blank():
    person = PersonFactory(id_number="")
    with connection.cursor() as cursor:
        cursor.execute(RAW_SELECT, [person.pk])
        assert cursor.fetchone() == ("", "")
    assert Person.objects.get(pk=person.pk).id_number == ""


@pytest.mark.django_db
def test_encrypted_field_readable_after_key_rotation():
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        person = PersonFactory(id_number=ID_NUMBER)
    crypto._fernet.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        reloaded = Person.objects.get(pk=person.pk)
        assert reloaded.id_number == ID_NUMBER
        assert Person.objects.filter(id_number_hash=crypto.lookup_hash(ID_NUMBER)).get() == person
