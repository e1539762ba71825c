"""Mark email addresses or mobile numbers bounced, e.g. from a provider's bounce report.

    python manage.py mark_bounced a@example.com b@example.com
    python manage.py mark_bounced --file bounces.txt --kind mobile --reason "number not in service"

Each address marks every channel holding it bounced (audited); prints one JSON summary.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.notifications.models import BounceEvent
from apps.notifications.services import channel_mark_bounced


class Command(BaseCommand):
    help = "Mark email addresses or mobile numbers bounced (hard bounce), from arguments or a file."

    def add_arguments(self, parser):
        parser.add_argument("addresses", nargs="*")
        parser.add_argument("--file", help="a text file with one address per line")
        parser.add_argument("--kind", choices=["email", "mobile"], default="email")
        parser.add_argument("--reason", default="")
        parser.add_argument("--soft", action="store_true", help="record soft bounces only (channels stay usable)")

    def handle(self, *args, **options):
        addresses = list(options["addresses"])
        if options["file"]:
            path = Path(options["file"])
            if not path.exists():
                raise CommandError(f"no such file: {path}")
            addresses += [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        if not addresses:
            raise CommandError("give addresses or --file")
        marked = 0
        for address in addresses:
            event = channel_mark_bounced(
                kind=options["kind"],
                address=address,
                source=BounceEvent.Source.COMMAND,
                bounce_kind=BounceEvent.Kind.SOFT if options["soft"] else BounceEvent.Kind.HARD,
                reason=options["reason"],
            )
            marked += event.channels_marked
        self.stdout.write(json.dumps({"addresses": len(addresses), "channels_marked": marked}))
