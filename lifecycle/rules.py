"""The stage rules of seed 002, as plain functions of plain values: which move is allowed, and if not, why.

Services gather the facts (role, qualification answers, open deals, the account) and ask these; the
refusal text is what the user reads in the form and in the API's 400, so it names the missing step.
"""

from dataclasses import dataclass

from accounts.models import LifecycleStage as S
from lifecycle.models import CLOSED_DEAL_STAGES, DealStage, DealType

# The funnel, forwards, one stage at a time. PQL is a side door from Lead that customer success opens.
NEXT_STAGES: dict[str, tuple[str, ...]] = {
    S.SUBSCRIBER: (S.LEAD,),
    S.LEAD: (S.MARKETING_QUALIFIED_LEAD, S.PRODUCT_QUALIFIED_LEAD),
    S.MARKETING_QUALIFIED_LEAD: (S.SALES_QUALIFIED_LEAD,),
    S.PRODUCT_QUALIFIED_LEAD: (S.SALES_QUALIFIED_LEAD,),
    S.SALES_QUALIFIED_LEAD: (S.OPPORTUNITY,),
    S.OPPORTUNITY: (S.CUSTOMER,),
    S.CUSTOMER: (S.EVANGELIST,),
    S.EVANGELIST: (),
    S.OTHER: (),
}
STAGE_RANK = {
    S.SUBSCRIBER: 0,
    S.LEAD: 1,
    S.MARKETING_QUALIFIED_LEAD: 2,
    S.PRODUCT_QUALIFIED_LEAD: 2,
    S.SALES_QUALIFIED_LEAD: 3,
    S.OPPORTUNITY: 4,
    S.CUSTOMER: 5,
    S.EVANGELIST: 6,
}
# Seed 002: "Any contact already identified as an MQL, SQL or Opportunity should not be a candidate for PQL."
NOT_PQL_CANDIDATES = (S.MARKETING_QUALIFIED_LEAD, S.SALES_QUALIFIED_LEAD, S.OPPORTUNITY)

QUALIFYING_QUESTION_LABELS = {
    "adoption": "Have they adopted Node-RED, and what have they built?",
    "scale": "How many instances and developers?",
    "production_use": "Is it used in production?",
    "next_year_plans": "What will they build next year?",
}
THREE_WS_LABELS = {"why_change": "Why change?", "why_now": "Why now?", "why_us": "Why us?"}


def label(stage: str) -> str:
    return S(stage).label


@dataclass(frozen=True)
class StageFacts:
    """What the rules need to know about a contact besides its stage."""

    may_set_pql: bool = False
    evangelist_enabled: bool = False
    missing_qualifying_answers: tuple[str, ...] = ()
    missing_three_ws: tuple[str, ...] = ()
    has_account: bool = False
    has_open_deal: bool = False
    account_is_paying: bool = False
    account_name: str = ""


def is_backward(from_stage: str, to_stage: str) -> bool:
    """Moving out of Other, or to an earlier stage of the funnel."""
    if to_stage == S.OTHER:
        return False
    if from_stage == S.OTHER:
        return True
    return STAGE_RANK[to_stage] < STAGE_RANK[from_stage]


def next_step_towards(from_stage: str, to_stage: str) -> str:
    """The stage the contact must reach first on its way to `to_stage` (for the refusal message)."""
    options = NEXT_STAGES[from_stage]
    if to_stage in (S.SALES_QUALIFIED_LEAD, S.OPPORTUNITY, S.CUSTOMER, S.EVANGELIST) and len(options) > 1:
        return " or ".join(label(option) for option in options)
    return label(options[0])


def stage_move_refusal(from_stage: str, to_stage: str, facts: StageFacts) -> str | None:
    """None when the forward move is allowed, else the sentence that says what is missing."""
    if to_stage == S.EVANGELIST and not facts.evangelist_enabled:
        return "The Evangelist stage is not used in this organization; an admin can turn it on in Pipeline settings."
    if to_stage == S.OTHER:
        return None
    if to_stage == S.PRODUCT_QUALIFIED_LEAD and from_stage in NOT_PQL_CANDIDATES:
        return (
            "Product Qualified Lead is only for contacts that are not already an MQL, SQL or Opportunity; "
            f"this contact is {label(from_stage)}."
        )
    if is_backward(from_stage, to_stage):
        return (
            f"Moving back from {label(from_stage)} to {label(to_stage)} is a correction: "
            "an admin makes it, with a reason."
        )
    if to_stage == S.PRODUCT_QUALIFIED_LEAD and not facts.may_set_pql:
        return "Customer success sets Product Qualified Lead, from product usage: ask the account's CSM."
    if to_stage not in NEXT_STAGES[from_stage]:
        return (
            f"Contacts do not skip stages: from {label(from_stage)} the next stage is "
            f"{next_step_towards(from_stage, to_stage)}."
        )
    if to_stage == S.SALES_QUALIFIED_LEAD and facts.missing_qualifying_answers:
        missing = "; ".join(QUALIFYING_QUESTION_LABELS[name] for name in facts.missing_qualifying_answers)
        return f"Sales Qualified Lead needs answers to the qualifying questions. Missing: {missing}"
    if to_stage == S.OPPORTUNITY:
        if facts.missing_three_ws:
            missing = ", ".join(THREE_WS_LABELS[name] for name in facts.missing_three_ws)
            return f"Opportunity needs the three W's written down first. Missing: {missing}"
        if not facts.has_account:
            return "Opportunity needs an open deal: link the contact to an account and open a deal on it."
        if not facts.has_open_deal:
            return f"Opportunity needs an open deal: open one for {facts.account_name} on the pipeline first."
    if to_stage == S.CUSTOMER and not facts.account_is_paying:
        where = facts.account_name or "the contact's account"
        return f"Customer means an active, paying account, and {where} is not one (it is churned, in Trial or missing)."
    return None


def deal_move_refusal(
    *, deal_type: str, from_stage: str, to_stage: str, lost_reason: str, lost_reasons: list[str]
) -> dict[str, list[str]]:
    """{field: [message]} for a deal stage change the rules refuse, or {} when it is allowed."""
    if from_stage == to_stage:
        return {}
    stage_label = DealStage(from_stage).label
    if from_stage in CLOSED_DEAL_STAGES:
        return {"stage": [f"This deal is {stage_label}: closed deals do not move. Open a new deal instead."]}
    if to_stage == DealStage.CLOSED_LOST:
        return lost_reason_refusal(lost_reason=lost_reason, lost_reasons=lost_reasons)
    if to_stage == DealStage.CLOSED_WON:
        if from_stage != DealStage.CONTRACT_SENT:
            return {
                "stage": ["A deal is won from Contract Sent: move it there when the contract is out for signature."]
            }
        return {}
    order = list(DealStage.values)
    # A new-business deal earns each stage in turn (seed 002: value is validated in a POC); an expansion or
    # renewal has no POC to run, so it may go straight to the stage it is at. Any open deal may slip back.
    if deal_type == DealType.NEW and order.index(to_stage) > order.index(from_stage) + 1:
        next_stage = DealStage(order[order.index(from_stage) + 1]).label
        return {"stage": [f"New-business deals do not skip stages: from {stage_label} the next stage is {next_stage}."]}
    return {}


def lost_reason_refusal(*, lost_reason: str, lost_reasons: list[str]) -> dict[str, list[str]]:
    if not lost_reason:
        return {"lost_reason": ["Say why the deal was lost: choose a reason."]}
    if lost_reason not in lost_reasons:
        return {
            "lost_reason": [f"'{lost_reason}' is not one of this organization's reasons: {', '.join(lost_reasons)}."]
        }
    return {}
