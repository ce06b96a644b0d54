"""A changed Stripe invoice tells the rest of the product (billing health) about its account, once."""

from revenue.sync import invoices_apply
from tests.revenue.factories import StripeCustomerFactory


def invoice(customer, status="open", **values):
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": customer.stripe_id,
        "status": status,
        "currency": "usd",
        "amount_due": 5000,
        "created": 1_790_000_000,
        **values,
    }


def test_a_new_or_changed_invoice_publishes_one_event_for_its_account(
    scope, domain_events, django_capture_on_commit_callbacks
):
    customer = StripeCustomerFactory(organization=scope, account__organization=scope)
    with django_capture_on_commit_callbacks(execute=True):
        invoices_apply(organization=scope, invoices=[invoice(customer)])
    [event] = domain_events
    assert (event.name, event.account_id, event.payload) == (
        "revenue.invoices_changed",
        customer.account_id,
        {"statuses": ["open"]},
    )

    with django_capture_on_commit_callbacks(execute=True):
        invoices_apply(organization=scope, invoices=[invoice(customer)])  # the same snapshot again: nothing new
    assert len(domain_events) == 1

    with django_capture_on_commit_callbacks(execute=True):
        invoices_apply(organization=scope, invoices=[invoice(customer, status="paid", amount_paid=5000)])
    assert [e.payload for e in domain_events] == [{"statuses": ["open"]}, {"statuses": ["paid"]}]


def test_an_invoice_of_an_unlinked_customer_publishes_nothing(scope, domain_events, django_capture_on_commit_callbacks):
    customer = StripeCustomerFactory(organization=scope, account=None)
    with django_capture_on_commit_callbacks(execute=True):
        invoices_apply(organization=scope, invoices=[invoice(customer)])
    assert domain_events == []
