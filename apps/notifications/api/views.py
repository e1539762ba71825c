from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.alumni.models import Person

from ..forms import cell_name, preference_cells
from ..models import BounceEvent, ConsentEvent, ContactPreference
from ..selectors import notification_list
from ..services import channel_mark_bounced, consent_set, consent_state, language_set
from ..services.notify import notifications_mark_read
from ..views import preferences_statement
from .authentication import BounceProvider, BounceWebhookAuthentication
from .serializers import BounceReportSerializer, MarkReadSerializer, NotificationSerializer, PreferencesSerializer


class MyNotificationList(generics.ListAPIView):
    """My portal notifications, newest first."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return notification_list(self.request.user)


class MyNotificationsRead(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=MarkReadSerializer, responses={200: dict})
    def post(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = notifications_mark_read(user=request.user, ids=serializer.validated_data.get("ids"))
        return Response({"marked": count})


class MyPreferences(APIView):
    """My consent per channel and category, and the language of messages. Needs a linked alumni record."""

    permission_classes = [IsAuthenticated]

    def _person(self, request) -> Person:
        person = Person.objects.filter(user=request.user).first()
        if person is None:
            raise NotFound("no alumni record is linked to this account")
        return person

    def _data(self, person) -> dict:
        state = consent_state(person)
        language = (
            ContactPreference.objects.filter(person=person).values_list("language", flat=True).first()
            or ContactPreference.Language.ZH_HANS
        )
        return {
            "language": language,
            "consents": {cell_name(ch, cat): state[(ch, cat)] for ch, cat in preference_cells()},
        }

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return Response(self._data(self._person(request)))

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request):
        person = self._person(request)
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        statement = preferences_statement()
        for channel, category in preference_cells():
            key = cell_name(channel, category)
            if key in serializer.validated_data["consents"]:
                consent_set(
                    person=person,
                    channel=channel,
                    category=category,
                    granted=serializer.validated_data["consents"][key],
                    source=ConsentEvent.Source.API,
                    statement=statement,
                    actor=request.user,
                )
        language_set(person=person, language=serializer.validated_data["language"], actor=request.user)
        return Response(self._data(person))


class BounceWebhook(APIView):
    """Mail or SMS provider reports bounces; signed with the shared secret (no user session)."""

    authentication_classes = [BounceWebhookAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=BounceReportSerializer, responses={200: dict})
    def post(self, request):
        if not isinstance(request.user, BounceProvider):
            return Response(status=status.HTTP_401_UNAUTHORIZED)
        serializer = BounceReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = 0
        for event in serializer.validated_data["events"]:
            kind, address = ("email", event["email"]) if event.get("email") else ("mobile", event["mobile"])
            result = channel_mark_bounced(
                kind=kind,
                address=address,
                source=BounceEvent.Source.WEBHOOK,
                bounce_kind=event["type"],
                reason=event.get("reason", ""),
            )
            marked += result.channels_marked
        return Response({"received": len(serializer.validated_data["events"]), "channels_marked": marked})
