"""The API's one exception handler: every error body is {"error": {"code", "message", "fields"}}.

``code`` is stable (the mobile app switches on it), ``message`` is translated, ``fields`` maps
field names to lists of {"code", "message"} for input errors (empty otherwise). Django's
ValidationError and the domain's ApplicationError become 400s (a rate-limit ApplicationError a 429).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import ApplicationError

_RATE_LIMIT_CODES = {"rate_limited"}


def _django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            field: [exceptions.ErrorDetail(str(m), code=e.code or "invalid") for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
        return exceptions.ValidationError(detail)
    code = getattr(exc, "code", None) or "invalid"
    return exceptions.ValidationError(
        {"non_field_errors": [exceptions.ErrorDetail(m, code=code) for m in exc.messages]}
    )


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        out = {}
        for name, value in detail.items():
            items = value if isinstance(value, list) else [value]
            out[name] = [
                {"code": getattr(item, "code", "invalid"), "message": str(item)}
                if not isinstance(item, dict | list)
                else {"code": "invalid", "message": "", "fields": _fields(item)}
                for item in items
            ]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [{"code": getattr(i, "code", "invalid"), "message": str(i)} for i in detail]}
    return {}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, ApplicationError):
        status_code = (
            status.HTTP_429_TOO_MANY_REQUESTS if exc.code in _RATE_LIMIT_CODES else status.HTTP_400_BAD_REQUEST
        )
        return Response({"error": {"code": exc.code, "message": exc.message, "fields": {}}}, status=status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        codes = {item["code"] for items in fields.values() for item in items}
        first = next((items[0]["message"] for items in fields.values() if items), "")
        body = {
            "code": codes.pop() if len(codes) == 1 and "non_field_errors" in fields and len(fields) == 1 else "invalid",
            "message": first if "non_field_errors" in fields and len(fields) == 1 else _("Check the marked fields."),
            "fields": fields,
        }
    else:
        codes = exc.get_codes()
        body = {
            "code": codes if isinstance(codes, str) else "error",
            "message": str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail),
            "fields": {},
        }
    response.data = {"error": body}
    return response
