"""Shapes of the portal endpoints (me, my contacts, my privacy, directory, card)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.alumni.models import ContactChannel, Visibility

from ..services.profile import ADDABLE_KINDS


class DegreeSerializer(serializers.Serializer):
    degree_level = serializers.CharField()
    degree_label = serializers.CharField()
    college = serializers.CharField()
    major = serializers.CharField()
    school_class = serializers.CharField()
    enrollment_year = serializers.IntegerField(allow_null=True)
    graduation_year = serializers.IntegerField(allow_null=True)


class MyDegreeSerializer(serializers.Serializer):
    student_id = serializers.CharField()
    degree_level = serializers.CharField()
    college = serializers.CharField(source="college.name")
    major = serializers.CharField(source="major.name", default="")
    school_class = serializers.CharField(source="school_class.name", default="")
    enrollment_year = serializers.IntegerField(allow_null=True)
    graduation_year = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    value = serializers.CharField()
    status = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField()


class ContactCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in ADDABLE_KINDS], label=_("kind"))
    value = serializers.CharField(max_length=255, label=_("value"))


class ContactConfirmSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, label=_("code"))


class EmploymentSerializer(serializers.Serializer):
    organisation = serializers.CharField()
    title = serializers.CharField()
    city = serializers.CharField()
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)


class HonourSerializer(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)


class ChapterSerializer(serializers.Serializer):
    chapter = serializers.CharField(source="chapter.name")
    role = serializers.CharField()
    joined_on = serializers.DateField(allow_null=True)
    left_on = serializers.DateField(allow_null=True)


class PrivacySerializer(serializers.Serializer):
    contacts = serializers.ChoiceField(choices=Visibility.choices, source="privacy_contacts", label=_("contacts"))
    employment = serializers.ChoiceField(
        choices=Visibility.choices, source="privacy_employment", label=_("employer and title")
    )
    location = serializers.ChoiceField(choices=Visibility.choices, source="privacy_location", label=_("current city"))
    show_in_directory = serializers.BooleanField(label=_("listed in the alumni directory"))


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="person.id")
    name = serializers.CharField(source="person.name")
    former_names = serializers.CharField(source="person.former_names")
    gender = serializers.CharField(source="person.gender")
    birth_date = serializers.DateField(source="person.birth_date", allow_null=True)
    country = serializers.CharField(source="person.country")
    province = serializers.CharField(source="person.province")
    city = serializers.CharField(source="person.city")
    degrees = MyDegreeSerializer(many=True)
    contacts = ContactSerializer(many=True)
    employments = EmploymentSerializer(many=True)
    honours = HonourSerializer(many=True)
    chapters = ChapterSerializer(many=True)
    privacy = PrivacySerializer(source="person")


class DirectoryQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=60, help_text=_("name or pinyin"))
    college = serializers.IntegerField(required=False, min_value=1)
    year = serializers.IntegerField(required=False, min_value=1895, max_value=2100)
    school_class = serializers.IntegerField(required=False, min_value=1)
    city = serializers.CharField(required=False, allow_blank=True, max_length=64)
    employer = serializers.CharField(required=False, allow_blank=True, max_length=100)
    page = serializers.IntegerField(required=False, min_value=1, default=1)


class DirectoryContactSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ContactChannel.Kind.choices)
    value = serializers.CharField()
    verified = serializers.BooleanField()


class DirectoryEntrySerializer(serializers.Serializer):
    """A group the viewer may not see is null; ``visible`` lists the groups shown."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    relation = serializers.ChoiceField(choices=["self", "classmate", "chaptermate", "alumnus"])
    degrees = DegreeSerializer(many=True)
    visible = serializers.ListField(child=serializers.CharField())
    city = serializers.CharField(allow_null=True)
    employer = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    contacts = DirectoryContactSerializer(many=True, allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["visible"] = sorted(instance.visible)
        return data


class DirectoryPageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = DirectoryEntrySerializer(many=True)


class CardSerializer(serializers.Serializer):
    name = serializers.CharField()
    degrees = DegreeSerializer(many=True)
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    verify_url = serializers.CharField()


def directory_entry_data(entry) -> dict:
    """What DirectoryEntrySerializer renders, built directly: it runs for every result of every lookup,
    and the serializer machinery cost more than the rest of the request's Python (a test keeps the two equal)."""
    return {
        "id": entry.id,
        "name": entry.name,
        "relation": entry.relation,
        "degrees": [dict(degree.__dict__) for degree in entry.degrees],
        "visible": sorted(entry.visible),
        "city": entry.city,
        "employer": entry.employer,
        "title": entry.title,
        "contacts": [dict(c) for c in entry.contacts] if entry.contacts is not None else None,
    }
