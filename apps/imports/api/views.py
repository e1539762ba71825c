from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from ..models import ApiToken, ImportJob
from ..selectors import token_import_jobs, visible_import_jobs
from ..services import import_job_create
from .authentication import ApiTokenAuthentication, HasImportScope
from .serializers import ImportJobReadSerializer, ImportJobUploadSerializer
from .uploads import guard_upload


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is larger than the upload limit."
    default_code = "too_large"


class ImportJobViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The registrar's roster feed: push a file (it becomes an import job that staff preview and apply)
    and read the job's status, counts and progress. A token sees only the jobs it created."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [HasImportScope]
    parser_classes = [MultiPartParser]
    serializer_class = ImportJobReadSerializer
    queryset = ImportJob.objects.none()  # for the schema; rows come from get_queryset

    def initial(self, request, *args, **kwargs):
        # Bound the body before anything (authentication's CSRF check included) reads it.
        self._upload_guard = guard_upload(request._request) if request.method == "POST" else None
        super().initial(request, *args, **kwargs)
        if self._upload_guard is not None and self._upload_guard.exceeded:
            raise RequestTooLarge()

    def get_queryset(self) -> QuerySet[ImportJob]:
        auth = self.request.auth
        if isinstance(auth, ApiToken):
            return token_import_jobs(auth).select_related("api_token")
        return visible_import_jobs(self.request.user).select_related("api_token")

    def get_serializer_class(self):
        return ImportJobUploadSerializer if self.action == "create" else ImportJobReadSerializer

    @extend_schema(
        request={"multipart/form-data": ImportJobUploadSerializer},
        responses={201: ImportJobReadSerializer},
        examples=[
            OpenApiExample(
                "Queued",
                response_only=True,
                status_codes=["201"],
                value={
                    "id": 42,
                    "original_name": "2025届毕业生.xlsx",
                    "source": "api",
                    "status": "uploaded",
                    "created_at": "2025-06-30T10:00:00+08:00",
                    "previewed_at": None,
                    "applied_at": None,
                    "counts": {"created": 0, "updated": 0, "unchanged": 0, "flagged": 0, "errors": 0},
                    "progress": {"phase": "", "rows_done": 0, "rows_total": 0, "percent": 0},
                    "failure_code": "",
                    "failure_message": "",
                },
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        upload = ImportJobUploadSerializer(data=request.data)
        if self._upload_guard is not None and self._upload_guard.exceeded:
            raise RequestTooLarge()
        upload.is_valid(raise_exception=True)
        try:
            job = import_job_create(
                upload=upload.validated_data["file"],
                actor=request.user,
                source=ImportJob.Source.API,
                api_token=request.auth,
                mapping=upload.validated_data.get("mapping") or None,
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"file": exc.messages}) from exc
        job.refresh_from_db()
        return Response(ImportJobReadSerializer(job).data, status=status.HTTP_201_CREATED)
