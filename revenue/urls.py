from django.urls import path

from revenue import views

urlpatterns = [
    path("revenue/", views.revenue_report, name="revenue_report"),
    path("revenue/review/", views.review_queue, name="revenue_review_queue"),
    path("revenue/review/<int:pk>/", views.review_customer, name="revenue_review_customer"),
    path("revenue/accounts/<int:pk>/", views.account_stripe, name="revenue_account"),
    path("revenue/accounts/<int:pk>/send-invoice/", views.account_send_invoice, name="revenue_send_invoice"),
    path("revenue/subscriptions/<int:pk>/cancel/", views.subscription_cancel, name="revenue_subscription_cancel"),
    path("settings/revenue/plans/", views.plan_cohorts, name="revenue_plan_cohorts"),
    path("settings/revenue/plans/<int:pk>/delete/", views.plan_cohort_delete, name="revenue_plan_cohort_delete"),
]
