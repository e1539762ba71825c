"""Signals other apps listen to, so that alumni never has to know their models."""

from django.dispatch import Signal

# Sent by services.person_merge inside its transaction, before ``other`` is deleted, with
# ``keep`` and ``other`` (Person instances): each app moves the rows it owns from other to keep.
person_merging = Signal()
