from django.urls import path

from integrations.hubspot.webhooks import hubspot_webhook

urlpatterns = [
    path("<slug:organization>/", hubspot_webhook, name="hubspot_webhook"),
]
