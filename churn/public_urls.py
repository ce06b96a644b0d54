"""The customer's learning-questions link: outside /o/<slug>/, no login, the token is the key."""

from django.urls import path

from churn import views

urlpatterns = [
    path("<str:token>/", views.churn_learning_form, name="churn_learning_form"),
]
