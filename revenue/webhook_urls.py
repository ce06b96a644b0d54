from django.urls import path

from revenue.webhooks import stripe_webhook

urlpatterns = [
    path("<slug:organization>/", stripe_webhook, name="stripe_webhook"),
]
