from django.urls import path

from tickets.webhooks import inbound_email

urlpatterns = [
    path("email/<slug:organization>/", inbound_email, name="inbound_email"),
]
