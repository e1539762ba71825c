"""Size limits enforced while a request body arrives, for the admin upload and the API feed.

``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not cap file parts, so a roster upload is bounded here:
a declared Content-Length above the limit is refused before the body is read, and a body that
turns out longer (chunked, or lying) stops being read at the limit.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# Room for the multipart envelope and the small form fields around the file.
ENVELOPE_BYTES = 64 * 1024


def upload_limit() -> int | None:
    return settings.IMPORT_MAX_BYTES or None


class LimitedUploadHandler(FileUploadHandler):
    """Counts file bytes as they arrive and stops the upload past the limit (``exceeded`` tells)."""

    def __init__(self, request=None, limit: int = 0):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def guard_upload(request, limit: int | None = None) -> LimitedUploadHandler:
    """Install the size guard; call it before ``request.POST``/``request.FILES`` (or DRF's ``request.data``).

    ``limit`` is in bytes: ``None`` means IMPORT_MAX_BYTES, 0 no limit. A declared Content-Length over
    the limit marks the handler ``exceeded`` at once and lets no file byte through, so whatever reads
    the body later stops at its first chunk.
    """
    if limit is None:
        limit = upload_limit()
    handler = LimitedUploadHandler(request, limit or (1 << 62))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if limit and declared > limit + ENVELOPE_BYTES:
        handler.exceeded = True
        handler.limit = 0
    request.upload_handlers.insert(0, handler)
    return handler
