"""Where produced files live: outside MEDIA_ROOT, so only the download views (with their checks) serve them."""

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property


@deconstructible
class PrivateFileStorage(FileSystemStorage):
    """A file system storage rooted at DATA_FILES_ROOT, with no public URL."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.DATA_FILES_ROOT)

    @cached_property
    def base_url(self):
        return None

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "DATA_FILES_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError("Produced files have no public URL; use the download views.")


# Re-producing a delivery writes the same server-generated name again: one file per request, never two.
private_storage = PrivateFileStorage(allow_overwrite=True)


def export_file_path(instance, filename: str) -> str:
    """A server-generated name (ASVS 5.3.2): the extension is the only part taken from ``filename``."""
    extension = filename.rpartition(".")[2].lower()[:8] if "." in filename else "bin"
    return f"exports/{instance.public_id or uuid.uuid4()}.{extension}"


def delivery_file_path(instance, filename: str) -> str:
    extension = filename.rpartition(".")[2].lower()[:8] if "." in filename else "bin"
    return f"deliveries/{instance.year}/{instance.public_id}.{extension}"
