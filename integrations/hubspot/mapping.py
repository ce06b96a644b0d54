"""Which HubSpot property feeds which field here, in which form, and who owns it by default.

Values are compared in "our" form (strings, the FFC-Actions list, a Decimal's string, a date's ISO string), so a
value read from HubSpot and the same value read from our row compare equal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from accounts.models import Cohort, LeadStatus, LifecycleStage
from integrations.hubspot_models import FieldOwner
from lifecycle.models import DealStage

# ExternalRecord / HubSpotRecordState object types, and the HubSpot object each comes from.
ACCOUNT, CONTACT, DEAL = "account", "contact", "deal"
HUBSPOT_OBJECT = {ACCOUNT: "companies", CONTACT: "contacts", DEAL: "deals"}
LOCAL_OBJECT = {value: key for key, value in HUBSPOT_OBJECT.items()}
# The property holding the last-modified time: contacts keep the legacy name (HubSpot's search docs).
MODIFIED_PROPERTY = {ACCOUNT: "hs_lastmodifieddate", CONTACT: "lastmodifieddate", DEAL: "hs_lastmodifieddate"}

# Seed 000, "Hubspot Properties": the internal names of FFC-Tier, FFC-Actions and FFC-Usage in the portal.
# FFC-Events is deprecated (replaced by FFC-Actions, seed 000): it is neither read nor written.
FFC_TIER, FFC_ACTIONS, FFC_USAGE = "ffc_tier", "ffc_actions", "ffc_usage"
FFC_PROPERTIES = (FFC_TIER, FFC_ACTIONS, FFC_USAGE)
FFC_FIELDS = ("ffc_tier", "ffc_actions", "ffc_usage")  # our Contact fields for them


@dataclass(frozen=True)
class SyncedField:
    object_type: str
    name: str  # our field
    label: str
    hubspot_property: str  # "" for an association
    default_owner: str
    pushed: bool = False  # written back to HubSpot when it changes here


FIELDS: tuple[SyncedField, ...] = (
    SyncedField(ACCOUNT, "name", "Company name", "name", FieldOwner.HUBSPOT),
    SyncedField(ACCOUNT, "domain", "Company domain", "domain", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "email", "Email", "email", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "first_name", "First name", "firstname", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "last_name", "Last name", "lastname", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "title", "Job title", "jobtitle", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "lifecycle_stage", "Lifecycle stage", "lifecyclestage", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "lead_status", "Lead status", "hs_lead_status", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "account", "Company (association)", "", FieldOwner.HUBSPOT),
    SyncedField(CONTACT, "ffc_tier", "FFC-Tier", FFC_TIER, FieldOwner.PLATFORM, pushed=True),
    SyncedField(CONTACT, "ffc_actions", "FFC-Actions", FFC_ACTIONS, FieldOwner.PLATFORM, pushed=True),
    SyncedField(CONTACT, "ffc_usage", "FFC-Usage", FFC_USAGE, FieldOwner.PLATFORM, pushed=True),
    SyncedField(DEAL, "name", "Deal name", "dealname", FieldOwner.HUBSPOT),
    SyncedField(DEAL, "amount", "Amount", "amount", FieldOwner.HUBSPOT),
    SyncedField(DEAL, "expected_close_date", "Close date", "closedate", FieldOwner.HUBSPOT),
    # Open stages come from HubSpot; a deal closed here is pushed there (and stays closed, seed 002).
    SyncedField(DEAL, "stage", "Deal stage", "dealstage", FieldOwner.HUBSPOT, pushed=True),
    SyncedField(DEAL, "account", "Company (association)", "", FieldOwner.HUBSPOT),
)
FIELDS_OF = {object_type: [f for f in FIELDS if f.object_type == object_type] for object_type in HUBSPOT_OBJECT}
FIELD = {(f.object_type, f.name): f for f in FIELDS}

# What each sync reads of each object.
PROPERTIES = {
    ACCOUNT: ["name", "domain", "hs_lastmodifieddate"],
    CONTACT: [
        "email",
        "firstname",
        "lastname",
        "jobtitle",
        "lifecyclestage",
        "hs_lead_status",
        FFC_TIER,
        FFC_ACTIONS,
        FFC_USAGE,
        "lastmodifieddate",
    ],
    DEAL: [
        "dealname",
        "amount",
        "closedate",
        "dealstage",
        "pipeline",
        "deal_currency_code",
        "closed_lost_reason",
        "hs_lastmodifieddate",
    ],
}
ASSOCIATIONS = {ACCOUNT: [], CONTACT: ["companies"], DEAL: ["companies"]}

LIFECYCLE_STAGES = set(LifecycleStage.values)
LEAD_STATUSES = set(LeadStatus.values)


def _text(value: str | None) -> str:
    return (value or "").strip()


def ffc_actions_from_hubspot(value: str | None) -> list[str]:
    """FFC-Actions is a multiple-checkbox property: HubSpot joins the values with ";"."""
    return [item.strip() for item in (value or "").split(";") if item.strip()]


def ffc_actions_to_hubspot(actions: list[str]) -> str:
    return ";".join(actions)


def amount_from_hubspot(value: str | None) -> str:
    if not value:
        return "0.00"
    try:
        return str(Decimal(value).quantize(Decimal("0.01")))
    except InvalidOperation:
        return "0.00"


def date_from_hubspot(value: str | None) -> str:
    """HubSpot sends close dates as datetimes (midnight UTC) or epoch milliseconds; we keep the day."""
    if not value:
        return ""
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC).date().isoformat()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return ""


def parse_hubspot_time(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def normalise_domain(domain: str) -> str:
    """As accounts.services normalises a domain typed in the form: no scheme, no www., lower case."""
    domain = domain.strip().lower()
    for scheme in ("https://", "http://"):
        domain = domain.removeprefix(scheme)
    return domain.removeprefix("www.").rstrip("/")


def remote_values(object_type: str, properties: dict[str, str | None], *, account_ref: str = "") -> dict:
    """A HubSpot object's synced properties in our form. `account_ref` is the associated company's id."""
    p = properties
    if object_type == ACCOUNT:
        return {"name": _text(p.get("name"))[:200], "domain": normalise_domain(_text(p.get("domain")))[:253]}
    if object_type == CONTACT:
        return {
            "email": _text(p.get("email")).lower(),
            "first_name": _text(p.get("firstname"))[:100],
            "last_name": _text(p.get("lastname"))[:100],
            "title": _text(p.get("jobtitle"))[:150],
            "lifecycle_stage": _text(p.get("lifecyclestage")).lower(),
            "lead_status": _text(p.get("hs_lead_status")).upper(),
            "account": account_ref,
            "ffc_tier": _text(p.get(FFC_TIER))[:50],
            "ffc_actions": ffc_actions_from_hubspot(p.get(FFC_ACTIONS)),
            "ffc_usage": _text(p.get(FFC_USAGE))[:200],
        }
    return {
        "name": _text(p.get("dealname"))[:200],
        "amount": amount_from_hubspot(p.get("amount")),
        "expected_close_date": date_from_hubspot(p.get("closedate")),
        "stage": _text(p.get("dealstage")),  # HubSpot's stage id; mapped by the organization's stage mapping
        "account": account_ref,
    }


def value_text(value) -> str:
    """A value for the conflict log and the audit trail."""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, Decimal | date):
        return str(value)
    return "" if value is None else str(value)


def fingerprint(values: dict) -> str:
    """What we last pushed (or last agreed on) for the pushed fields: unchanged values are not pushed again."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


COHORT_LABEL = dict(Cohort.choices)
# Higher cohorts first when two accounts have the same ARR.
COHORT_RANK = {cohort: rank for rank, cohort in enumerate(Cohort.values)}


def ffc_tier_for(accounts) -> str:
    """Seed 000, FFC-Tier: "Where a contact is in more than one team with different tiers we will show the tier which
    is expected to deliver the highest ARR."

    A team is an account here, and a contact belongs to one account, so the tier is that account's cohort (Trial,
    Starter, Premium, Enterprise). The rule is kept for several accounts: the account with the highest ARR wins,
    and on equal ARR the higher cohort. No account: no tier of ours ("").
    """
    accounts = [account for account in accounts if account is not None]
    if not accounts:
        return ""
    best = max(accounts, key=lambda account: (account.arr, COHORT_RANK.get(account.cohort, 0)))
    return COHORT_LABEL.get(best.cohort, "")


# Seed 002's deal stages, and the HubSpot stage labels (and default pipeline ids) that mean each of them.
STAGE_LABEL_GUESSES = {
    "opportunity": DealStage.OPPORTUNITY,
    "appointmentscheduled": DealStage.OPPORTUNITY,
    "appointment scheduled": DealStage.OPPORTUNITY,
    "qualifiedtobuy": DealStage.OPPORTUNITY,
    "qualified to buy": DealStage.OPPORTUNITY,
    "poc started": DealStage.POC_STARTED,
    "presentationscheduled": DealStage.POC_STARTED,
    "presentation scheduled": DealStage.POC_STARTED,
    "value validated": DealStage.VALUE_VALIDATED,
    "decisionmakerboughtin": DealStage.VALUE_VALIDATED,
    "decision maker bought-in": DealStage.VALUE_VALIDATED,
    "contract sent": DealStage.CONTRACT_SENT,
    "contractsent": DealStage.CONTRACT_SENT,
    "closed won": DealStage.CLOSED_WON,
    "closedwon": DealStage.CLOSED_WON,
    "closed lost": DealStage.CLOSED_LOST,
    "closedlost": DealStage.CLOSED_LOST,
}


def stage_guess(stage_id: str, label: str) -> str:
    """The stage of ours a new HubSpot stage most likely means, by its label or HubSpot's default id ("" if none)."""
    return STAGE_LABEL_GUESSES.get(label.strip().lower()) or STAGE_LABEL_GUESSES.get(stage_id.strip().lower(), "")
