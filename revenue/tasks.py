"""Celery entry points for Stripe: thin, taking ids, safe to run twice.

acks_late + reject_on_worker_lost: a message leaves the broker only once its work is done, so a worker killed
mid-way leaves it to be redelivered; that is safe because applying is an upsert keyed on the Stripe id, a recorded
event is claimed by compare-and-set, and actions reuse their idempotency key. Connection and rate-limit errors
retry with exponential backoff and jitter. Full and incremental runs are integrations.tasks.sync_run_execute
(one per organization and source at a time, under integrations.services.sync_lock).
"""

from celery import shared_task

from core.models import Organization
from core.tasks import TenantTask
from integrations.models import Source
from integrations.services import connection_get
from revenue.stripe_client import TRANSIENT_STRIPE_ERRORS, stripe_client_for

STRIPE_TASK_OPTIONS = {
    "base": TenantTask,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT_STRIPE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 120,
    "time_limit": 150,
}


@shared_task(name="revenue.tasks.stripe_webhook_apply", **STRIPE_TASK_OPTIONS)
def stripe_webhook_apply(organization: Organization, webhook_event_id: int) -> str:
    connection = connection_get(organization=organization, source=Source.STRIPE)
    client = stripe_client_for(connection) if connection.is_configured else None
    from revenue.sync import webhook_event_process

    return webhook_event_process(organization=organization, event_pk=webhook_event_id, client=client)


@shared_task(name="revenue.tasks.stripe_subscription_cancel", **STRIPE_TASK_OPTIONS)
def stripe_subscription_cancel(
    organization: Organization, subscription_id: int, at_period_end: bool, user_id: int | None = None
) -> str:
    """For callers that cancel in the background (the churn procedure): a retry sends the same idempotency key."""
    from revenue.models import StripeSubscription
    from revenue.services import subscription_cancel

    subscription = StripeSubscription.objects.get(pk=subscription_id)
    action = subscription_cancel(
        tenant=_tenant(organization, user_id), subscription=subscription, at_period_end=at_period_end
    )
    return action.status


@shared_task(name="revenue.tasks.stripe_invoice_send_for_card_update", **STRIPE_TASK_OPTIONS)
def stripe_invoice_send_for_card_update(organization: Organization, account_id: int, user_id: int | None = None) -> str:
    from accounts.models import Account
    from revenue.services import invoice_send_for_card_update

    account = Account.objects.get(pk=account_id)
    return invoice_send_for_card_update(tenant=_tenant(organization, user_id), account=account).status


def _tenant(organization: Organization, user_id: int | None):
    from django.contrib.auth import get_user_model

    from core.tenancy import Tenant, membership_for
    from revenue.services import system_tenant

    if user_id is None:
        return system_tenant(organization)
    user = get_user_model().objects.get(pk=user_id)
    membership = membership_for(user, organization)
    if membership is None:
        return system_tenant(organization)
    return Tenant(organization=organization, role=membership.role, user=user)
