from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.alumni.models import College

from ..claim.forms import YEAR_MAX, YEAR_MIN
from ..claim.matching import ClaimEvidence
from ..claim.texts import PublicState, public_state
from ..models import ClaimRequest


class ClaimStartSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text=_("Full name as on the student record."))
    birth_date = serializers.DateField()
    student_id = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    college = serializers.SlugRelatedField(
        slug_field="code",
        queryset=College.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("College code; with graduation_year, instead of a student ID."),
    )
    graduation_year = serializers.IntegerField(
        min_value=YEAR_MIN, max_value=YEAR_MAX, required=False, allow_null=True, default=None
    )

    def validate(self, attrs):
        if not attrs.get("student_id") and not (attrs.get("college") and attrs.get("graduation_year")):
            raise serializers.ValidationError(
                _("Give your student ID, or your college and graduation year."), code="student_id_or_class"
            )
        return attrs

    def evidence(self) -> ClaimEvidence:
        data = self.validated_data
        return ClaimEvidence(
            name=data["name"],
            birth_date=data["birth_date"],
            student_id=data.get("student_id") or "",
            college=data.get("college"),
            graduation_year=data.get("graduation_year"),
        )


class ClaimConfirmSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^\d{6}$", help_text=_("The 6-digit code."))


class ClaimReadSerializer(serializers.ModelSerializer):
    """A claim as its claimant sees it: the evidence they gave and a state that reveals no match."""

    state = serializers.SerializerMethodField(help_text=_("submitted, approved, rejected or closed."))
    college = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ClaimRequest
        fields = ["id", "state", "name", "student_id", "birth_date", "college", "graduation_year", "created_at"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "string",
            "enum": [PublicState.SUBMITTED, PublicState.APPROVED, PublicState.REJECTED, PublicState.CLOSED],
        }
    )
    def get_state(self, claim) -> str:
        return public_state(claim)


class ClaimSubmittedSerializer(ClaimReadSerializer):
    detail = serializers.CharField(read_only=True, help_text=_("The same text for every claim."))

    class Meta(ClaimReadSerializer.Meta):
        fields = [*ClaimReadSerializer.Meta.fields, "detail"]
        read_only_fields = fields
