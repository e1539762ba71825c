"""Admin for likely-duplicate pairs (filled in by the duplicate-finder work)."""
