from django.urls import path

from health import views

app_name = "health"

# The account travels as a form field or query parameter (?account=), not in the path: the card's forms post
# here from the account page.
urlpatterns = [
    path("health/override/", views.health_override, name="health_override"),
    path("health/override/clear/", views.health_override_clear, name="health_override_clear"),
    path("health/sentiment/", views.health_sentiment, name="health_sentiment"),
    path("health/signals/", views.signal_list, name="signal_list"),
    path("settings/health/", views.health_model_edit, name="health_model_edit"),
]
