from django import template

from churn.models import StepKind

register = template.Library()

CASE_ACTIONS = {
    "churn.case_opened": "opened the case",
    "churn.case_suggested": "suggested the case from Stripe",
    "churn.case_confirmed": "confirmed the case",
    "churn.case_updated": "edited the case",
    "churn.case_dismissed": "dismissed the case",
    "churn.case_closed": "closed the case: every step done or skipped",
    "churn.learning_answered": "stored the customer's answers",
}


@register.filter
def churn_action(action: str) -> str:
    """ "churn.step_failed.cancel_stripe" → "step failed: Cancel the subscription in Stripe"."""
    if action in CASE_ACTIONS:
        return CASE_ACTIONS[action]
    parts = action.split(".")
    if len(parts) == 3 and parts[2] in StepKind.values:
        verb = {"step_done": "ran", "step_failed": "ran, and it failed:", "step_skipped": "skipped"}.get(parts[1], "")
        return f"{verb} {StepKind(parts[2]).label.lower()}"
    return action.replace(".", " ").replace("_", " ")
