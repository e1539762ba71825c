"""Writes of the alumni portal: my profile and privacy, contact confirmation, data rights requests,
relayed messages and lookup statistics. Every change to personal data goes through
``apps.alumni.services.personal_data_save`` (derived keys plus an audit row)."""

from .profile import (
    address_update,
    contact_add,
    contact_confirm,
    contact_confirmation_send,
    contact_remove,
    job_update,
    my_data_copy_record,
    privacy_update,
)
from .relay import (
    RelayRateLimited,
    relay_block,
    relay_mark_read,
    relay_message_deliver,
    relay_reply,
    relay_send,
    relay_unblock,
)
from .rights import rights_request_create, rights_request_handle
from .stats import directory_lookup, lookup_count

__all__ = [
    "RelayRateLimited",
    "address_update",
    "contact_add",
    "contact_confirm",
    "contact_confirmation_send",
    "contact_remove",
    "directory_lookup",
    "job_update",
    "lookup_count",
    "my_data_copy_record",
    "privacy_update",
    "relay_block",
    "relay_mark_read",
    "relay_message_deliver",
    "relay_reply",
    "relay_send",
    "relay_unblock",
    "rights_request_create",
    "rights_request_handle",
]
