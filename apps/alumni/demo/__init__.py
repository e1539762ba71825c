"""Realistic, deterministic demo data for ``manage.py seed_demo``.

- ``names``: surname and given-name pools with realistic repetition;
- ``reference``: colleges and majors, places, employers, honours, tags;
- ``generator``: people generated chunk by chunk from a seed, without the database;
- ``bulk``: COPY on PostgreSQL, ``bulk_create`` elsewhere (reusable by bulk imports);
- ``seed``: writes the generated people, skipping those already present;
- ``users``: the demo staff accounts.
"""
