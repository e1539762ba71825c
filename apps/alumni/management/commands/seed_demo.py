"""python manage.py seed_demo --alumni N [--seed S]: realistic, idempotent demo data."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.alumni.demo.generator import CHUNK_SIZE, MAX_ALUMNI
from apps.alumni.demo.seed import SeedSummary, analyze, seed_demo
from apps.alumni.demo.users import DEMO_PASSWORD, demo_users_ensure
from apps.alumni.services import contact_rate_refresh
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create realistic demo alumni (Chinese names, colleges, classes, degrees, contacts, employers, "
        "honours) and demo staff accounts. The same --alumni and --seed always give the same data; running "
        "again creates only what is missing, so an interrupted run can simply be repeated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--alumni", type=int, default=2000, help=f"Number of people to have (default 2000, at most {MAX_ALUMNI:,})."
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        users = parser.add_mutually_exclusive_group()
        users.add_argument(
            "--with-demo-users",
            dest="demo_users",
            action="store_true",
            default=None,
            help="Create the demo staff accounts even when DEBUG is off.",
        )
        users.add_argument(
            "--no-demo-users",
            dest="demo_users",
            action="store_false",
            help="Do not create demo staff accounts (the default when DEBUG is off).",
        )
        parser.add_argument(
            "--no-stats",
            action="store_true",
            help="Do not recompute the contact-rate figures and database statistics after adding people.",
        )

    def handle(self, *args, alumni, seed, demo_users, no_stats, verbosity, **options):
        if demo_users is None:
            demo_users = settings.DEBUG
        self._verbosity = verbosity
        self._last_report = 0.0
        try:
            summary = seed_demo(alumni=alumni, seed=seed, progress=self._progress)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

        if summary.people and not no_stats:
            self._say("Refreshing contact-rate figures and database statistics ...")
            analyze()
            figures = contact_rate_refresh()
            self._say(f"  {figures} contact-rate figures written.")
        rate = summary.rows / summary.seconds if summary.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Seed {seed}: {summary.people:,} people created ({summary.existing:,} already present), "
                f"{summary.enrollments:,} enrolments, {summary.contacts:,} contacts, {summary.employments:,} jobs, "
                f"{summary.honours:,} honours, {summary.tags:,} tags, {summary.classes:,} new classes "
                f"in {summary.seconds:.1f} s ({rate:,.0f} rows/s)."
            )
        )
        if demo_users:
            for account in demo_users_ensure():
                self.stdout.write(
                    f"Demo staff login: {account.email} / {DEMO_PASSWORD}  ({account.role}, {account.scope}"
                    f"{'' if account.created else ', existing account: password unchanged'})"
                )

    def _progress(self, done: int, chunks: int, summary: SeedSummary) -> None:
        # A line every 10 chunks (50,000 people) and at the end; every chunk with -v 2.
        if self._verbosity < 1 or (self._verbosity < 2 and done % 10 and done != chunks):
            return
        people = min(done * CHUNK_SIZE, summary.people + summary.existing)
        speed = f", {summary.people / summary.seconds:,.0f} new people/s" if summary.people else ""
        self.stdout.write(
            f"  chunk {done}/{chunks}: {people:,} people ({summary.people:,} new), {summary.seconds:.1f} s{speed}"
        )
        self.stdout.flush()

    def _say(self, message: str) -> None:
        if self._verbosity >= 1:
            self.stdout.write(message)
