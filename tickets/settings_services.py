"""Writes of the support inbox's admin settings: the calendar and links, the inbound secret, SLA policies, routing
rules and macros, and the defaults a new organization starts with (seed 000 "Inbound Support", seed 003 "SLA").

Every service validates first (a ValidationError keyed by the field, in sentences an admin can act on), then saves
and writes one audit entry. Secrets (the Slack webhook address, the inbound secret) never reach the audit trail:
it says that a secret was set, replaced or cleared, never what it is.
"""

import re
import secrets
import zoneinfo
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import holidays as holidays_lib
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import Cohort
from core.models import Organization, Role
from core.secrets import seal
from core.services import audit_record, field_changes
from core.tenancy import Tenant, tenant_scope
from tickets import sla
from tickets.models import Channel, Macro, Priority, RoutingRule, SlaPolicy, SupportSettings, Topic
from tickets.services import support_settings_get

# What tickets.services fills in (its _route, _out_of_hours_notice and macros_rendered); anything else in braces
# would reach the customer as literal "{...}", so it is refused when the text is saved.
ROUTING_MERGE_FIELDS = ("first_name", "forum_url", "feature_tracker_url")
MACRO_MERGE_FIELDS = ("first_name", "ticket_number", "subject", "agent_name", "docs_url", "forum_url")
OUT_OF_HOURS_MERGE_FIELDS = ("business_hours", "next_open")
_MERGE_FIELD = re.compile(r"\{([^{}\n]{1,60})\}")

# Slack hands out incoming webhooks only on these hosts (hooks.slack-gov.com for GovSlack).
SLACK_WEBHOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")

SUPPORT_SETTING_FIELDS = (
    "slack_webhook_url", "reopen_window_days", "timezone", "weekly_hours", "holiday_country", "holiday_subdivision",
    "extra_holidays", "forum_url", "feature_tracker_url", "docs_url", "out_of_hours_reply", "job_applications_cc",
)  # fmt: skip
SLA_POLICY_FIELDS = (
    "name", "position", "cohort", "priority", "channel", "topic", "first_response_minutes", "next_response_minutes",
    "resolution_minutes", "business_hours",
)  # fmt: skip
ROUTING_RULE_FIELDS = ("position", "topic", "cohort", "action", "reply", "active")


def unknown_merge_fields(text: str, allowed: Iterable[str]) -> list[str]:
    """The {fields} in `text` that nothing fills in, in order of appearance, each once."""
    allowed = set(allowed)
    return list(dict.fromkeys(name for name in _MERGE_FIELD.findall(text or "") if name not in allowed))


def _merge_field_error(text: str, allowed: tuple[str, ...]) -> str | None:
    unknown = unknown_merge_fields(text, allowed)
    if not unknown:
        return None
    named = ", ".join("{" + name + "}" for name in unknown)
    known = ", ".join("{" + name + "}" for name in allowed)
    noun = "merge field" if len(unknown) == 1 else "merge fields"
    return f"Unknown {noun} {named}: the customer would see it as typed. Use {known}."


def _choice_error(value: str, choices, what: str) -> str | None:
    if value in ("", *choices.values):
        return None
    return f"“{value}” is not a {what}: choose one of {', '.join(label for label in choices.labels)}, or any."


def _url_error(value: str, label: str) -> str | None:
    if not value:
        return None
    try:
        URLValidator(schemes=["https", "http"])(value)
    except ValidationError:
        return f"Give the full address of the {label}, starting with https://."
    return None


def _slack_webhook_error(value: str) -> str | None:
    """Only Slack's own https hosts: the server posts to this address on every new ticket, so any other address
    would let an admin make our workers send requests into networks they reach (internal services, cloud metadata)
    rather than to Slack. Slack-compatible chat servers elsewhere are not supported for that reason."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or parts.hostname not in SLACK_WEBHOOK_HOSTS or not parts.path.startswith("/"):
        return (
            "Paste the Slack incoming webhook address, which starts with https://hooks.slack.com/services/ "
            "(in Slack: Apps → Incoming WebHooks → Add to Slack)."
        )
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        return "This is not a complete web address; copy the webhook address from Slack again."
    return None


def _weekly_hours_clean(value: Any, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The dict as stored (days as given, spans stripped); tickets.sla's own message when it does not parse."""
    if not value:
        return {}  # empty means the default, Monday to Friday 09:00-17:00 (tickets.sla_clock.calendar_for)
    if not isinstance(value, dict):
        errors["weekly_hours"] = ["Give the hours per weekday, for example mon: 09:00-17:00."]
        return {}
    cleaned = {
        str(day).strip().lower(): [spans.strip()] if isinstance(spans, str) else [str(span).strip() for span in spans]
        for day, spans in value.items()
    }
    try:
        hours = sla.WeeklyHours.parse(cleaned)
    except ValueError as error:
        errors["weekly_hours"] = [f"{error}."]
        return {}
    if hours.is_empty:
        # A calendar that never opens has no "next open" time: out-of-hours notices and business-hour SLAs would
        # have nothing to count towards.
        errors["weekly_hours"] = [
            "The inbox must be open at least once a week; leave the hours empty for Monday to Friday 09:00-17:00."
        ]
    return cleaned


def _holidays_clean(country: str, subdivision: str, errors: dict[str, list[str]]) -> tuple[str, str]:
    """Country and subdivision as the holidays library spells them, checked by loading this year's holidays."""
    country, subdivision = (country or "").strip().upper(), (subdivision or "").strip()
    if not country:
        if subdivision:
            errors["holiday_subdivision"] = ["Choose the country first; a subdivision alone names no holidays."]
        return "", ""
    year = timezone.now().year
    try:
        sla.holiday_dates(country=country, years=[year])
    except ValueError as error:
        errors["holiday_country"] = [f"{error}."]
        return country, subdivision
    try:
        sla.holiday_dates(country=country, subdivision=subdivision, years=[year])
    except ValueError as error:
        errors["holiday_subdivision"] = [f"{error}."]
        return country, subdivision
    known = holidays_lib.list_supported_countries()[country]
    return country, next((code for code in known if code.lower() == subdivision.lower()), subdivision)


def _extra_holidays_clean(value: Any, errors: dict[str, list[str]]) -> list[str]:
    days, bad = set(), []
    for item in value or []:
        text = str(item).strip()
        if not text:
            continue
        try:
            days.add(date.fromisoformat(text))
        except ValueError:
            bad.append(text)
    if bad:
        errors["extra_holidays"] = [f"Not a date: {', '.join(bad)}. Write each as YYYY-MM-DD, e.g. 2026-12-24."]
    return [day.isoformat() for day in sorted(days)]


def _secret_audit(before: str, after: str) -> list[str] | None:
    """The audit's before/after of a secret: what happened to it, never its value."""
    if before == after:
        return None
    if not after:
        return ["set", "cleared"]
    return ["set" if before else "not set", "replaced" if before else "set"]


@transaction.atomic
def support_settings_update(*, tenant: Tenant, **values: Any) -> SupportSettings:
    """Saves the given support settings (those left out keep their value). An empty slack_webhook_url clears it."""
    unknown = set(values) - set(SUPPORT_SETTING_FIELDS)
    if unknown:
        raise TypeError(f"support_settings_update() got unknown settings: {', '.join(sorted(unknown))}")
    support_settings = support_settings_get(organization=tenant.organization)
    support_settings = SupportSettings.objects.select_for_update().get(pk=support_settings.pk)
    errors: dict[str, list[str]] = {}
    for field in ("slack_webhook_url", "forum_url", "feature_tracker_url", "docs_url", "timezone"):
        if field in values:
            values[field] = (values[field] or "").strip()
    if "slack_webhook_url" in values and (error := _slack_webhook_error(values["slack_webhook_url"])):
        errors["slack_webhook_url"] = [error]
    for field, label in (
        ("forum_url", "community forum"),
        ("feature_tracker_url", "public feature tracker"),
        ("docs_url", "documentation"),
    ):
        if field in values and (error := _url_error(values[field], label)):
            errors[field] = [error]
    if values.get("job_applications_cc"):
        values["job_applications_cc"] = values["job_applications_cc"].strip().lower()
        try:
            validate_email(values["job_applications_cc"])
        except ValidationError:
            errors["job_applications_cc"] = ["Give one email address, for example people@acme.example."]
    if "reopen_window_days" in values:
        days = values["reopen_window_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            errors["reopen_window_days"] = ["Give a number of days from 1 to 365."]
    if "timezone" in values and values["timezone"] not in zoneinfo.available_timezones():
        errors["timezone"] = [
            f"“{values['timezone']}” is not a time zone; use an IANA name such as Europe/Berlin or America/New_York."
        ]
    if "weekly_hours" in values:
        values["weekly_hours"] = _weekly_hours_clean(values["weekly_hours"], errors)
    if "holiday_country" in values or "holiday_subdivision" in values:
        country = values.get("holiday_country", support_settings.holiday_country)
        subdivision = values.get("holiday_subdivision", support_settings.holiday_subdivision)
        values["holiday_country"], values["holiday_subdivision"] = _holidays_clean(country, subdivision, errors)
    if "extra_holidays" in values:
        values["extra_holidays"] = _extra_holidays_clean(values["extra_holidays"], errors)
    if "out_of_hours_reply" in values:
        values["out_of_hours_reply"] = (values["out_of_hours_reply"] or "").strip()
        if error := _merge_field_error(values["out_of_hours_reply"], OUT_OF_HOURS_MERGE_FIELDS):
            errors["out_of_hours_reply"] = [error]
    if errors:
        raise ValidationError(errors)
    plain_fields = [field for field in SUPPORT_SETTING_FIELDS if field != "slack_webhook_url"]
    changes = field_changes(support_settings, values, plain_fields)
    if "slack_webhook_url" in values:
        slack_change = _secret_audit(support_settings.slack_webhook_url, values["slack_webhook_url"])
        if slack_change:
            changes["slack_webhook_url"] = slack_change
    for field, value in values.items():
        setattr(support_settings, field, value)
    support_settings.save()
    if changes:
        audit_record(tenant=tenant, action="support_settings.updated", obj=support_settings, changes=changes)
    return support_settings


@transaction.atomic
def inbound_secret_rotate(*, tenant: Tenant) -> str:
    """A new secret for the inbound email webhook, stored sealed; returned once for the admin to copy. The old one
    stops working at once, so the provider must be given the new one."""
    support_settings = support_settings_get(organization=tenant.organization)
    support_settings = SupportSettings.objects.select_for_update().get(pk=support_settings.pk)
    secret = secrets.token_urlsafe(32)
    had_one = bool(support_settings.inbound_secret_sealed)
    support_settings.inbound_secret_sealed = seal(secret)
    support_settings.save(update_fields=["inbound_secret_sealed"])
    audit_record(
        tenant=tenant, action="support_settings.inbound_secret_rotated", obj=support_settings,
        changes={"inbound_secret": ["set" if had_one else "not set", "replaced" if had_one else "set"]},
    )  # fmt: skip
    return secret


# --- SLA policies -----------------------------------------------------------------------------------------------


def _optional_minutes(value: Any) -> int | None:
    return None if value in (None, "") else value


def _next_position(model) -> int:
    last = model.objects.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 10  # steps of ten leave room to slot a row in between without renumbering


@transaction.atomic
def sla_policy_save(*, tenant: Tenant, policy: SlaPolicy | None, **values: Any) -> SlaPolicy:
    """Creates (policy None) or changes a policy. Resolution, when set, must be longer than the first response."""
    unknown = set(values) - set(SLA_POLICY_FIELDS)
    if unknown:
        raise TypeError(f"sla_policy_save() got unknown fields: {', '.join(sorted(unknown))}")
    current = policy or SlaPolicy(organization=tenant.organization)
    merged = {field: values.get(field, getattr(current, field)) for field in SLA_POLICY_FIELDS}
    merged["name"] = (merged["name"] or "").strip()
    for field in ("cohort", "priority", "channel", "topic"):
        merged[field] = merged[field] or ""
    for field in ("next_response_minutes", "resolution_minutes"):
        merged[field] = _optional_minutes(merged[field])
    errors: dict[str, list[str]] = {}
    if not merged["name"]:
        errors["name"] = ["Give the policy a name, for example “Enterprise” or “Standard”."]
    elif len(merged["name"]) > 100:
        errors["name"] = ["Keep the name under 100 characters."]
    for field, choices, what in (
        ("cohort", Cohort, "cohort"),
        ("priority", Priority, "priority"),
        ("channel", Channel, "channel"),
        ("topic", Topic, "topic"),
    ):
        if error := _choice_error(merged[field], choices, what):
            errors[field] = [error]
    first = merged["first_response_minutes"]
    if not isinstance(first, int) or first <= 0:
        errors["first_response_minutes"] = ["The first response target is a number of minutes above zero."]
        first = None
    next_response = merged["next_response_minutes"]
    if next_response is not None and (not isinstance(next_response, int) or next_response <= 0):
        errors["next_response_minutes"] = ["Leave it empty for no target, or give minutes above zero."]
    resolution = merged["resolution_minutes"]
    if resolution is not None:
        if not isinstance(resolution, int) or resolution <= 0:
            errors["resolution_minutes"] = ["Leave it empty for no target, or give minutes above zero."]
        elif first is not None and resolution <= first:
            errors["resolution_minutes"] = [
                f"Resolution ({resolution} min) must take longer than the first response ({first} min): "
                "a ticket is answered before it is solved."
            ]
    if merged["position"] is not None and (not isinstance(merged["position"], int) or merged["position"] < 0):
        errors["position"] = ["The position is a whole number, 0 or more; lower numbers are checked first."]
    if errors:
        raise ValidationError(errors)
    if merged["position"] is None or (policy is None and "position" not in values):
        merged["position"] = _next_position(SlaPolicy)
    merged["business_hours"] = bool(merged["business_hours"])
    changes = field_changes(current, merged, SLA_POLICY_FIELDS) if policy is not None else {}
    for field, value in merged.items():
        setattr(current, field, value)
    current.save()
    if policy is None:
        changes = {field: [None, value] for field, value in merged.items() if value not in (None, "")}
    if changes:
        action = "sla_policy.created" if policy is None else "sla_policy.updated"
        audit_record(tenant=tenant, action=action, obj=current, changes=changes)
    return current


def sla_policy_delete(*, tenant: Tenant, policy: SlaPolicy) -> None:
    """Tickets that had it keep their deadlines as computed; new tickets take the next matching policy."""
    audit_record(tenant=tenant, action="sla_policy.deleted", obj=policy, changes={"name": [policy.name, None]})
    policy.delete()


# --- Routing rules ----------------------------------------------------------------------------------------------


@transaction.atomic
def routing_rule_save(*, tenant: Tenant, rule: RoutingRule | None, **values: Any) -> RoutingRule:
    """Creates (rule None) or changes a rule. A rule that answers the customer needs its reply text."""
    unknown = set(values) - set(ROUTING_RULE_FIELDS)
    if unknown:
        raise TypeError(f"routing_rule_save() got unknown fields: {', '.join(sorted(unknown))}")
    current = rule or RoutingRule(organization=tenant.organization)
    merged = {field: values.get(field, getattr(current, field)) for field in ROUTING_RULE_FIELDS}
    merged["reply"] = (merged["reply"] or "").strip()
    merged["topic"], merged["cohort"] = merged["topic"] or "", merged["cohort"] or ""
    errors: dict[str, list[str]] = {}
    if merged["action"] not in RoutingRule.Action.values:
        errors["action"] = [f"Choose what the rule does: {', '.join(RoutingRule.Action.labels)}."]
    for field, choices, what in (("topic", Topic, "topic"), ("cohort", Cohort, "cohort")):
        if error := _choice_error(merged[field], choices, what):
            errors[field] = [error]
    if merged["action"] != RoutingRule.Action.KEEP and not merged["reply"]:
        errors["reply"] = ["Write the reply the customer gets; this rule answers them and closes the ticket."]
    elif error := _merge_field_error(merged["reply"], ROUTING_MERGE_FIELDS):
        errors["reply"] = [error]
    if merged["position"] is not None and (not isinstance(merged["position"], int) or merged["position"] < 0):
        errors["position"] = ["The position is a whole number, 0 or more; lower numbers are checked first."]
    if errors:
        raise ValidationError(errors)
    if merged["position"] is None or (rule is None and "position" not in values):
        merged["position"] = _next_position(RoutingRule)
    merged["active"] = bool(merged["active"])
    changes = field_changes(current, merged, ROUTING_RULE_FIELDS) if rule is not None else {}
    for field, value in merged.items():
        setattr(current, field, value)
    current.save()
    if rule is None:
        changes = {field: [None, value] for field, value in merged.items() if value not in (None, "")}
    if changes:
        action = "routing_rule.created" if rule is None else "routing_rule.updated"
        audit_record(tenant=tenant, action=action, obj=current, changes=changes)
    return current


def routing_rule_delete(*, tenant: Tenant, rule: RoutingRule) -> None:
    audit_record(tenant=tenant, action="routing_rule.deleted", obj=rule, changes={"rule": [str(rule), None]})
    rule.delete()


# --- Macros -----------------------------------------------------------------------------------------------------


@transaction.atomic
def macro_save(*, tenant: Tenant, macro: Macro | None, name: str, body: str) -> Macro:
    """Creates (macro None) or changes a canned reply; names are unique in the organization, whatever the case."""
    name, body = (name or "").strip(), (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the macro a name the team will recognise in the reply box."]
    elif len(name) > 100:
        errors["name"] = ["Keep the name under 100 characters."]
    else:
        # Case-insensitive, because “Need more info” and “need more info” side by side is a mistake, not a choice.
        taken = Macro.objects.filter(name__iexact=name).exclude(pk=macro.pk if macro else None).first()
        if taken is not None:
            errors["name"] = [f"There is already a macro called “{taken.name}”; give this one another name."]
    if not body:
        errors["body"] = ["Write the text of the reply."]
    elif error := _merge_field_error(body, MACRO_MERGE_FIELDS):
        errors["body"] = [error]
    if errors:
        raise ValidationError(errors)
    current = macro or Macro(organization=tenant.organization)
    changes = (
        field_changes(current, {"name": name, "body": body}, ("name", "body"))
        if macro is not None
        else {"name": [None, name], "body": [None, body]}
    )
    current.name, current.body = name, body
    current.save()
    if changes:
        audit_record(
            tenant=tenant, action="macro.created" if macro is None else "macro.updated", obj=current, changes=changes
        )
    return current


def macro_delete(*, tenant: Tenant, macro: Macro) -> None:
    audit_record(tenant=tenant, action="macro.deleted", obj=macro, changes={"name": [macro.name, None]})
    macro.delete()


# --- Defaults for a new organization ----------------------------------------------------------------------------

FORUM_REPLY = (
    "Hi {first_name},\n\nthanks for getting in touch. Questions about Node-RED itself and about flows are answered "
    "in our community forum, where the team and other users help: {forum_url}\n\nOur support tickets cover the "
    "application and your account and billing, so we are closing this one. If it is about one of those after all, "
    "just reply and we will pick it up."
)
CUSTOM_NODES_REPLY = (
    "Hi {first_name},\n\nthanks for getting in touch. Third-party and custom nodes are not something our support "
    "covers; the node's own repository is usually the quickest place to ask, and our community forum can help "
    "too: {forum_url}\n\nWe are closing this ticket. If your question is about the application or your account, "
    "just reply and we will pick it up."
)
FEATURE_REPLY = (
    "Hi {first_name},\n\nthank you for the idea! Feature requests live in our public tracker, where you can add "
    "yours, follow it and vote on others: {feature_tracker_url}\n\nWe are closing this ticket; the tracker is where "
    "it gets seen by the people who plan the product."
)
TRIAL_REPLY = (
    "Hi {first_name},\n\nthanks for trying us out! During the trial, help comes from our community forum, where "
    "the team answers too: {forum_url}\n\nWe are closing this ticket. Questions about billing or buying stay with "
    "us: just reply if that is what this is about."
)

# (position, topic, cohort, action, reply). First match wins, top to bottom (tickets.services.routing_rule_for).
#
# Seed 000 puts Billing and the Application in tickets, Node-RED, flows and custom nodes in the forum, feature
# requests in the public tracker, and adds: "If you're not a FlowFuse customer, or in your trial phase, please go
# to the community forum." Two of its rows come before that trial rule on purpose:
# - Billing, because "FlowFuse customers will only get support for issues relating to the FlowFuse application or
#   their account & billing": a trial asking about billing is asking how to become a customer, and payment and
#   account details do not belong on a public forum.
# - Feature requests, because the tracker is not support: anyone's idea belongs there, trial or not.
# People without an account have no cohort, so no rule can single them out; their tickets stay with the team.
DEFAULT_ROUTING_RULES = (
    (10, Topic.BILLING, "", RoutingRule.Action.KEEP, ""),
    (20, Topic.FEATURE_REQUEST, "", RoutingRule.Action.FEATURE_TRACKER, FEATURE_REPLY),
    (30, "", Cohort.TRIAL, RoutingRule.Action.FORUM, TRIAL_REPLY),
    (40, Topic.APPLICATION, "", RoutingRule.Action.KEEP, ""),
    (50, Topic.RUNTIME, "", RoutingRule.Action.FORUM, FORUM_REPLY),
    (60, Topic.FLOWS, "", RoutingRule.Action.FORUM, FORUM_REPLY),
    (70, Topic.CUSTOM_NODES, "", RoutingRule.Action.FORUM, CUSTOM_NODES_REPLY),
)

# Seed 003: "We respond within 1-hour during business hours and 4 hours outside business hours", for the top
# tier. A ticket gets one policy, chosen by cohort, priority and channel, never by the hour it arrives, so that
# sentence cannot be one policy, and a second Enterprise policy below the first would never match. With the
# fields we have:
# - Enterprise, P0, counted around the clock, 60 min: a critical ticket is due within the hour whenever it comes,
#   which keeps the 1-hour promise in business hours and is stricter than the 4 hours outside them (seed 003
#   sends P0/P1 incidents out of hours into the emergency flow anyway).
# - Enterprise, any other priority, 60 business minutes: exact in business hours; out of hours the clock waits
#   for the next opening, and the out-of-hours auto-reply acknowledges the customer at once.
# - Standard, everyone else: 8 business hours, one working day of seed 000's "business hours (Berlin) Monday to
#   Friday", with anything outside them "best effort".
DEFAULT_SLA_POLICIES = (
    # Seed 003: "Within 4 business hours, the assigned CSE sends an email ... to the applicant".
    {"name": "Job applications", "position": 5, "topic": Topic.JOB_APPLICATION, "first_response_minutes": 4 * 60,
     "business_hours": True},
    {"name": "Enterprise · P0 around the clock", "position": 10, "cohort": Cohort.ENTERPRISE,
     "priority": Priority.P0, "first_response_minutes": 60, "next_response_minutes": 240, "business_hours": False},
    {"name": "Enterprise", "position": 20, "cohort": Cohort.ENTERPRISE, "first_response_minutes": 60,
     "next_response_minutes": 240, "business_hours": True},
    {"name": "Standard", "position": 100, "first_response_minutes": 8 * 60, "next_response_minutes": 8 * 60,
     "business_hours": True},
)  # fmt: skip

DEFAULT_MACROS = (
    (
        "Applying for an open position",
        # Seed 003: reply with the template for applicants, naming the position applied for.
        "Hi {first_name},\n\nthank you for applying for the position of [position title] and for your interest in "
        "joining us. We have passed your application to the hiring team, who will get back to you within two "
        "weeks.\n\nBest regards,\n{agent_name}",
    ),
    (
        "Does this solve it?",
        # Seed 000: "If it's unclear ... please ask the customer to confirm they don't need any further help."
        "Hi {first_name},\n\nwe believe ticket #{ticket_number} ({subject}) is solved. Does this solve it for you? "
        "If you need anything more, just reply and the ticket opens again.\n\nBest regards,\n{agent_name}",
    ),
    (
        "Need more information",
        # Seed 003's bug report needs these before anything can be reproduced or escalated.
        "Hi {first_name},\n\nthanks for reporting this. To look into it we need a few details:\n\n"
        "- the version you are running\n- your environment (operating system, web browser, hosting)\n"
        "- what you expected to happen, and what happened instead\n- the steps that lead to it\n\n"
        "Our documentation may already cover it: {docs_url}\n\nBest regards,\n{agent_name}",
    ),
)


@transaction.atomic
def default_support_rules_create(*, organization: Organization) -> dict[str, int]:
    """Seeds seed 000's routing table, seed 003's SLA policies and two macros; returns how many of each it made.

    Idempotent per kind: an organization that already has any routing rule (or SLA policy, or macro) keeps its own
    set untouched, because adding defaults among configured rules would change which rule matches first."""
    # Two first requests at once must not both find "nothing yet": the organization row serialises them.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    system = Tenant(organization=organization, role=Role.ADMIN)  # no user: the audit shows the platform as actor
    created = {"routing_rules": 0, "sla_policies": 0, "macros": 0}
    with tenant_scope(organization):
        if not RoutingRule.objects.exists():
            for position, topic, cohort, action, reply in DEFAULT_ROUTING_RULES:
                routing_rule_save(
                    tenant=system, rule=None, position=position, topic=topic, cohort=cohort, action=action,
                    reply=reply, active=True,
                )  # fmt: skip
                created["routing_rules"] += 1
        if not SlaPolicy.objects.exists():
            for values in DEFAULT_SLA_POLICIES:
                sla_policy_save(tenant=system, policy=None, **values)
                created["sla_policies"] += 1
        if not Macro.objects.exists():
            for name, body in DEFAULT_MACROS:
                macro_save(tenant=system, macro=None, name=name, body=body)
                created["macros"] += 1
    return created
