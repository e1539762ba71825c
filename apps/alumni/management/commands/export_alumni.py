"""python manage.py export_alumni --out PATH [--fields a,b,c] [--college CODE] [--format csv|xlsx] [--user EMAIL]"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from apps.accounts.models import User
from apps.alumni.exports import DEFAULT_FIELDS, FIELDS, can_export_people, people_matching
from apps.alumni.models import College, Person
from apps.alumni.selectors import visible_people
from apps.core.scoping import scope_for
from apps.dataservice.services import person_export_to_file


class Command(BaseCommand):
    help = (
        "Export alumni to a CSV (UTF-8 with BOM) or XLSX file, streaming, with one audit row. With --user the "
        "export is limited to that user's scope and fields; asking for a field they may not export is an error. "
        f"Fields: {', '.join(FIELDS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="File to write (.csv or .xlsx).")
        parser.add_argument(
            "--fields", default=",".join(DEFAULT_FIELDS), help="Comma-separated field names (default: %(default)s)."
        )
        parser.add_argument("--college", help="Only people with a degree from the college with this code.")
        parser.add_argument(
            "--format", choices=["csv", "xlsx"], help="File format (default: from the --out extension, else csv)."
        )
        parser.add_argument("--user", help="Export as this user (email): their scope, their fields, in the audit.")
        parser.add_argument("--language", default=None, help="Language of headers and labels (default: site language).")

    def handle(self, *args, out, fields, college, format, user, language, **options):
        path = Path(out)
        fmt = format or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
        actor = self._actor(user)
        # Without --user: the operator on the server, whole school (audited without a user).
        queryset = visible_people(actor) if actor is not None else Person.objects.all()
        filters: dict = {"command": "export_alumni"}
        if college:
            found = College.objects.filter(code=college).first()
            if found is None:
                raise CommandError(f"No college with code {college!r}.")
            scope = scope_for(actor) if actor is not None else None
            if scope is not None and not scope.whole_school and found.pk not in scope.college_ids:
                raise CommandError(f"{actor.email} may not export college {college}.")
            queryset = people_matching(queryset, college_ids=[found.pk])
            filters["college"] = college
        keys = [f.strip() for f in fields.split(",") if f.strip()]
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed at the end: a failed export leaves no half file.
        handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=f".{fmt}")
        try:
            with os.fdopen(handle, "w+b") as fileobj, translation.override(language or settings.LANGUAGE_CODE):
                result = person_export_to_file(
                    actor=actor, queryset=queryset, fields=keys, fmt=fmt, fileobj=fileobj, filters=filters
                )
            os.replace(tmp_name, path)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        self.stdout.write(f"Exported {result.rows} people to {path} ({result.size} bytes, sha256 {result.sha256}).")

    def _actor(self, email):
        if not email:
            return None
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {email!r}.")
        if not can_export_people(user):
            raise CommandError(f"{email} may not export alumni lists.")
        return user
