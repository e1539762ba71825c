class PersonExportMixin:
    """Export actions for the person list (filled in by the exports work)."""
