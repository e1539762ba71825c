"""The import pipeline shared by the admin's jobs, the API feed and ``manage.py import_alumni``."""

from .progress import Progress
from .runner import Outcome, run_roster

__all__ = ["Outcome", "Progress", "run_roster"]
