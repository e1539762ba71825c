from rest_framework import serializers

from ..forms import cell_name, preference_cells
from ..models import BounceEvent, ContactPreference, Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "category", "title", "body", "url", "created_at", "read_at", "is_read"]
        read_only_fields = fields

    def get_is_read(self, obj) -> bool:
        return obj.read_at is not None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_empty=True, max_length=500)


class PreferencesSerializer(serializers.Serializer):
    """``consents`` maps "<channel>__<category>" (e.g. "email__news") to yes/no."""

    language = serializers.ChoiceField(choices=ContactPreference.Language.choices)
    consents = serializers.DictField(child=serializers.BooleanField())

    def validate_consents(self, value):
        allowed = {cell_name(ch, cat) for ch, cat in preference_cells()}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise serializers.ValidationError(f"unknown keys: {', '.join(unknown)}")
        return value


class BounceItemSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=BounceEvent.Kind.choices, default=BounceEvent.Kind.HARD)
    email = serializers.EmailField(required=False)
    mobile = serializers.CharField(required=False, max_length=32)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("mobile"):
            raise serializers.ValidationError("give email or mobile")
        return attrs


class BounceReportSerializer(serializers.Serializer):
    events = BounceItemSerializer(many=True, max_length=1000)
