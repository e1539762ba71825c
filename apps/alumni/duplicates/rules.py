"""The duplicate rules, shared by the full scan (SQL) and the check before creating a person (ORM).

Each signal belongs to a family of evidence. Two records are likely the same person with

- **high** confidence when they share an ID-card number, or when two independent families agree
  (same name and birth date, and the same phone; a namesake in the same class with the same email);
- **medium** confidence for one strong family alone: a shared phone, email or WeChat ID, or the
  same name (or a former name) and birth date;
- **low** confidence for a namesake in the same class and nothing else.

Two contact signals (a phone and an email) count as one family: relatives often share both.
"""

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

from apps.core.names import mask_phone

from ..models import ContactChannel, DuplicatePair

IDENTIFIER, CONTACT, BIRTH, COHORT = "identifier", "contact", "birth", "cohort"

# rule -> family
RULE_FAMILIES: dict[str, str] = {
    "id_number": IDENTIFIER,
    "mobile": CONTACT,
    "email": CONTACT,
    "wechat": CONTACT,
    "name_birth": BIRTH,
    "former_name_birth": BIRTH,
    "name_class": COHORT,
    "former_name_class": COHORT,
}

RULE_LABELS = {
    "id_number": _("Same ID-card number"),
    "mobile": _("Same mobile %(value)s"),
    "email": _("Same email %(value)s"),
    "wechat": _("Same WeChat ID %(value)s"),
    "name_birth": _("Same name and birth date: %(value)s"),
    "former_name_birth": _("A former name of one is the other's name, same birth date: %(value)s"),
    "name_class": _("Same name in the same class: %(value)s"),
    "former_name_class": _("A former name of one is the other's name, same class: %(value)s"),
}

# Contact kinds compared, and the statuses that still count (bounced and obsolete ones do not).
CONTACT_RULES = (ContactChannel.Kind.MOBILE, ContactChannel.Kind.EMAIL, ContactChannel.Kind.WECHAT)
ACTIVE_CONTACT_STATUSES = (ContactChannel.Status.VERIFIED, ContactChannel.Status.UNVERIFIED)

# A phone, email or name-and-birth-date shared by more people than this is a switchboard, a
# family account or a placeholder, not one person's duplicate records: the group is skipped.
MAX_GROUP_SIZE = 20


def confidence_for(rules: Iterable[str]) -> int:
    """The confidence of a pair with these signals (the SQL in ``scan.py`` mirrors this)."""
    families = {RULE_FAMILIES[rule] for rule in rules}
    if IDENTIFIER in families or len(families & {CONTACT, BIRTH, COHORT}) >= 2:
        return DuplicatePair.Confidence.HIGH
    if families & {CONTACT, BIRTH}:
        return DuplicatePair.Confidence.MEDIUM
    return DuplicatePair.Confidence.LOW


def confidence_sql(rule_column: str = "rule") -> str:
    """An SQL expression over grouped signal rows giving the same value as ``confidence_for``."""

    def has(family: str) -> str:
        rules = ", ".join(f"'{rule}'" for rule, fam in RULE_FAMILIES.items() if fam == family)
        return f"MAX(CASE WHEN {rule_column} IN ({rules}) THEN 1 ELSE 0 END)"

    independent = f"({has(CONTACT)} + {has(BIRTH)} + {has(COHORT)})"
    return (
        f"CASE WHEN {has(IDENTIFIER)} = 1 OR {independent} >= 2 THEN {DuplicatePair.Confidence.HIGH.value} "
        f"WHEN {has(CONTACT)} + {has(BIRTH)} >= 1 THEN {DuplicatePair.Confidence.MEDIUM.value} "
        f"ELSE {DuplicatePair.Confidence.LOW.value} END"
    )


def mask_email(value: str) -> str:
    at = value.find("@")
    return f"{value[:2]}***{value[at:]}" if at >= 2 else f"{value[:2]}***"


def mask_contact(kind: str, value: str) -> str:
    """How a shared contact value appears in evidence: enough to recognise, not to use."""
    if kind == ContactChannel.Kind.MOBILE:
        return mask_phone(value)
    if kind == ContactChannel.Kind.EMAIL:
        return mask_email(value)
    return f"{value[:2]}***"


def evidence_item(rule: str, detail: str = "") -> dict[str, str]:
    return {"rule": rule, "detail": detail}


def evidence_text(item: dict[str, Any]) -> str:
    """One evidence item as a translated sentence for staff."""
    label = RULE_LABELS.get(item.get("rule", ""))
    if label is None:
        return str(item.get("rule", ""))
    text = str(label)
    return text % {"value": item.get("detail", "")} if "%(value)s" in text else text
