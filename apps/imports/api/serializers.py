from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import ImportJob
from ..selectors import import_job_progress


class ImportJobUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("The roster: CSV (UTF-8 or GB18030) or XLSX."))
    mapping = serializers.JSONField(
        required=False,
        help_text=_('Optional: column header -> field name ("" ignores a column), for headers not recognised.'),
    )

    def validate_mapping(self, value):
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise serializers.ValidationError(_("The mapping must be an object of column header -> field name."))
        return value


class ImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    flagged = serializers.IntegerField()
    errors = serializers.IntegerField(help_text=_("Rows rejected."))


class ImportJobReadSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "original_name",
            "source",
            "status",
            "created_at",
            "previewed_at",
            "applied_at",
            "counts",
            "progress",
            "failure_code",
            "failure_message",
        ]
        read_only_fields = fields

    @extend_schema_field(ImportCountsSerializer)
    def get_counts(self, job) -> dict:
        return job.counts()

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "phase": {"type": "string"},
                "rows_done": {"type": "integer"},
                "rows_total": {"type": "integer"},
                "percent": {"type": "integer"},
            },
        }
    )
    def get_progress(self, job) -> dict:
        live = import_job_progress(job)
        return {k: live[k] for k in ("phase", "rows_done", "rows_total", "percent")}
