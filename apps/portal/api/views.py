"""REST API v1 of the portal: me, my contacts, my privacy, the directory, my card, and a ping."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..card import card_token
from ..permissions import IsVerifiedAlumnus
from ..throttles import DirectoryThrottle, PortalWriteThrottle
from .serializers import (
    CardSerializer,
    ContactConfirmSerializer,
    ContactCreateSerializer,
    ContactSerializer,
    DirectoryPageSerializer,
    DirectoryQuerySerializer,
    MeSerializer,
    PrivacySerializer,
    directory_entry_data,
)


class PortalAPIView(APIView):
    """Verified alumni only; writes are throttled per user."""

    permission_classes = [IsVerifiedAlumnus]

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            throttles.append(PortalWriteThrottle())
        return throttles

    @property
    def person(self):
        return selectors.viewer_person(self.request.user)


class MeView(PortalAPIView):
    @extend_schema(responses=MeSerializer, summary="My record: degrees, contacts, jobs, honours, chapters, privacy")
    def get(self, request):
        profile = selectors.my_profile(self.person)
        return Response(MeSerializer(profile).data)


class MyContactsView(PortalAPIView):
    @extend_schema(responses=ContactSerializer(many=True), summary="My contact channels (not obsolete ones)")
    def get(self, request):
        return Response(ContactSerializer(selectors.my_profile(self.person)["contacts"], many=True).data)

    @extend_schema(
        request=ContactCreateSerializer,
        responses={201: ContactSerializer},
        summary="Add a contact: unverified and self-reported; an email address is sent a confirmation code",
        examples=[OpenApiExample("Email", request_only=True, value={"kind": "email", "value": "li.hua@example.com"})],
    )
    def post(self, request):
        data = ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            contact = services.contact_add(person=self.person, actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise _as_field_error(exc, "value") from exc
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


def _as_field_error(exc: DjangoValidationError, field: str) -> serializers.ValidationError:
    return serializers.ValidationError(
        {field: [serializers.ErrorDetail(m, code=exc.code or "invalid") for m in exc.messages]}
    )


class MyContactDetailView(PortalAPIView):
    def _contact(self, contact_id):
        contact = selectors.my_contact(self.person, contact_id)
        if contact is None:
            raise_404()
        return contact

    @extend_schema(responses={204: None}, summary="Remove one of my contacts (it becomes obsolete)")
    def delete(self, request, contact_id: int):
        services.contact_remove(contact=self._contact(contact_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def raise_404():
    raise NotFound()


class MyContactConfirmView(MyContactDetailView):
    @extend_schema(
        request=ContactConfirmSerializer,
        responses={200: ContactSerializer},
        summary="Confirm an email address with the code sent to it (error codes: expired, locked, wrong_code)",
    )
    def post(self, request, contact_id: int):
        contact = self._contact(contact_id)
        data = ContactConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            contact = services.contact_confirm(contact=contact, code=data.validated_data["code"], actor=request.user)
        except DjangoValidationError as exc:
            raise _as_field_error(exc, "code") from exc
        return Response(ContactSerializer(contact).data)


class MyContactResendView(MyContactDetailView):
    @extend_schema(request=None, responses={202: None}, summary="Send a new confirmation code to an email address")
    def post(self, request, contact_id: int):
        services.contact_confirmation_send(contact=self._contact(contact_id))
        return Response(status=status.HTTP_202_ACCEPTED)


class MyPrivacyView(PortalAPIView):
    @extend_schema(responses=PrivacySerializer, summary="Who may see my contacts, employer and title, and city")
    def get(self, request):
        return Response(PrivacySerializer(self.person).data)

    @extend_schema(request=PrivacySerializer, responses=PrivacySerializer, summary="Change my privacy settings")
    def put(self, request):
        return self._save(request, partial=False)

    @extend_schema(request=PrivacySerializer, responses=PrivacySerializer, summary="Change some privacy settings")
    def patch(self, request):
        return self._save(request, partial=True)

    def _save(self, request, *, partial: bool):
        person = self.person
        data = PrivacySerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data  # keyed by the Person fields (the serializer's sources)
        person = services.privacy_update(
            person=person,
            contacts=values.get("privacy_contacts", person.privacy_contacts),
            employment=values.get("privacy_employment", person.privacy_employment),
            location=values.get("privacy_location", person.privacy_location),
            show_in_directory=values.get("show_in_directory", person.show_in_directory),
            actor=request.user,
        )
        selectors.forget_viewer(request.user)
        return Response(PrivacySerializer(person).data)


class DirectoryView(PortalAPIView):
    """Search the alumni directory. Every field group a person has not opened to the viewer is null."""

    throttle_classes = [*PortalAPIView.throttle_classes, DirectoryThrottle]

    @extend_schema(
        parameters=[DirectoryQuerySerializer],
        responses=DirectoryPageSerializer,
        summary="Search the directory by name (characters or pinyin), class, college, year, city or employer",
    )
    def get(self, request):
        query = directory_query(_directory_params(request.query_params))
        if query.is_empty:
            raise serializers.ValidationError(
                {"q": [serializers.ErrorDetail(_("Enter a name or choose at least one filter."), code="empty_query")]}
            )
        page = services.directory_lookup(self.person, query)
        base = request.build_absolute_uri(request.path)
        args = {k: v for k, v in request.query_params.items() if k != "page"}
        return Response(
            {
                "page": page.page,
                "next": f"{base}?{urlencode({**args, 'page': page.page + 1})}" if page.has_next else None,
                "previous": f"{base}?{urlencode({**args, 'page': page.page - 1})}" if page.has_previous else None,
                "results": [directory_entry_data(entry) for entry in page.entries],
            }
        )


_INT_PARAMS = {"college": (1, None), "year": (1895, 2100), "school_class": (1, None), "page": (1, None)}
_TEXT_PARAMS = {"q": 60, "city": 64, "employer": 100}


def _directory_params(query_params) -> dict:
    """The directory's query parameters, checked as DirectoryQuerySerializer describes them (without
    the serializer machinery, which cost as much as the lookup's own Python on every request)."""
    data, errors = {}, {}
    for name, (low, high) in _INT_PARAMS.items():
        raw = query_params.get(name, "")
        if raw == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            errors[name] = [serializers.ErrorDetail(_("A valid integer is required."), code="invalid")]
            continue
        if value < low or (high is not None and value > high):
            errors[name] = [serializers.ErrorDetail(_("Out of range."), code="out_of_range")]
            continue
        data[name] = value
    for name, limit in _TEXT_PARAMS.items():
        raw = query_params.get(name, "")
        if len(raw) > limit:
            errors[name] = [serializers.ErrorDetail(_("Too long."), code="max_length")]
        elif raw:
            data[name] = raw
    if errors:
        raise serializers.ValidationError(errors)
    return data


def directory_query(data: dict) -> selectors.DirectoryQuery:
    return selectors.DirectoryQuery(
        q=data.get("q", "") or "",
        college_id=data.get("college"),
        graduation_year=data.get("year"),
        class_id=data.get("school_class"),
        city=data.get("city", "") or "",
        employer=data.get("employer", "") or "",
        page=data.get("page") or 1,
    )


class CardView(PortalAPIView):
    @extend_schema(responses=CardSerializer, summary="My alumni card: a fresh signed token for the QR code")
    def get(self, request):
        person = self.person
        token = card_token(person)
        return Response(
            CardSerializer(
                {
                    "name": person.name,
                    "degrees": selectors.person_degrees(person.pk),
                    "token": token.token,
                    "expires_at": token.expires_at,
                    "verify_url": request.build_absolute_uri(reverse("portal:card-verify", args=[token.token])),
                }
            ).data
        )


class PingView(APIView):
    """A trivial endpoint for monitoring and load tests; says nothing about anyone."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses=inline_serializer("Ping", {"status": serializers.CharField()}),
        summary="Is the API up?",
    )
    def get(self, request):
        return Response({"status": "ok"})
