from django.urls import path

from tickets.webhooks import github_webhook, inbound_email

urlpatterns = [
    path("email/<slug:organization>/", inbound_email, name="inbound_email"),
    path("github/<slug:organization>/", github_webhook, name="github_webhook"),
]
