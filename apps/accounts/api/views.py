"""Claim my record over the REST API (the mobile app): start, confirm with the code, read the state."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ..claim import texts
from ..claim.ratelimit import client_ip
from ..claim.services import claim_confirm, claim_start
from ..models import ClaimRequest
from ..selectors import user_is_verified_alumnus
from .authentication import SessionTokenAuthentication
from .serializers import ClaimConfirmSerializer, ClaimReadSerializer, ClaimStartSerializer, ClaimSubmittedSerializer
from .throttles import ClaimConfirmThrottle, ClaimStartThrottle

ERROR_BODY = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        }
    },
}


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ERROR_BODY, description=description)


@extend_schema_view(
    list=extend_schema(summary="My record claims, newest first"),
    retrieve=extend_schema(
        summary="One of my record claims", responses={200: ClaimReadSerializer, 404: _error("Not yours")}
    ),
)
class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Claim my record. Starting answers the same way whatever the details match; a code, if one was
    sent, goes to the email address or mobile number on the record, and confirming it links the account.
    Claims that get no code wait for the alumni office."""

    authentication_classes = [SessionTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = ClaimReadSerializer
    queryset = ClaimRequest.objects.none()  # for the schema; rows come from get_queryset

    def get_queryset(self) -> QuerySet[ClaimRequest]:
        return ClaimRequest.objects.filter(user=self.request.user).select_related("college").order_by("-created_at")

    def get_throttles(self):
        # The API-wide rates, plus the claim limits the pages share (per account and per IP).
        extra = {"create": [ClaimStartThrottle()], "confirm": [ClaimConfirmThrottle()]}.get(self.action, [])
        return [*super().get_throttles(), *extra]

    @extend_schema(
        summary="Start a claim",
        request=ClaimStartSerializer,
        responses={
            202: ClaimSubmittedSerializer,
            400: _error("Invalid input"),
            401: _error("Not signed in"),
            403: _error("Account already linked to a record"),
            429: _error("Too many attempts"),
        },
        examples=[
            OpenApiExample(
                "By student ID",
                value={"name": "张伟", "birth_date": "1990-05-01", "student_id": "2008011234"},
                request_only=True,
            ),
            OpenApiExample(
                "By college and graduation year",
                value={"name": "张伟", "birth_date": "1990-05-01", "college": "CS", "graduation_year": 2012},
                request_only=True,
            ),
        ],
    )
    def create(self, request, *args, **kwargs):
        if user_is_verified_alumnus(request.user):
            raise exceptions.PermissionDenied(texts.ALREADY_LINKED, code="account_linked")
        serializer = ClaimStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = claim_start(user=request.user, evidence=serializer.evidence(), ip_address=client_ip(request._request))
        claim.detail = str(texts.SUBMITTED)
        return Response(ClaimSubmittedSerializer(claim).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Confirm a claim with its code",
        request=ClaimConfirmSerializer,
        responses={
            200: ClaimReadSerializer,
            400: _error('Wrong, expired or no code (always code "invalid_code")'),
            401: _error("Not signed in"),
            404: _error("Not yours"),
            429: _error("Too many attempts"),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        claim = self.get_object()
        serializer = ClaimConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not claim_confirm(
            claim=claim, code=serializer.validated_data["code"], ip_address=client_ip(request._request)
        ):
            raise exceptions.ValidationError({"non_field_errors": [texts.CODE_FAILED]}, code="invalid_code")
        claim.refresh_from_db()
        return Response(ClaimReadSerializer(claim).data)
