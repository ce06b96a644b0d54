from django.urls import path

from qbr import views

urlpatterns = [
    path("qbrs/", views.qbr_programme, name="qbr_programme"),
    path("meetings/", views.meeting_calendar, name="meeting_calendar"),
    path("accounts/<int:pk>/qbr/", views.account_qbr, name="account_qbr"),
    path("accounts/<int:pk>/meetings/new/", views.account_meeting_create, name="account_meeting_create"),
    path("accounts/<int:pk>/uptime-notes/", views.account_uptime_note_add, name="account_uptime_note_add"),
    path("accounts/<int:pk>/champion/", views.account_champion_change, name="account_champion_change"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<int:pk>/confirm/", views.meeting_confirm, name="meeting_confirm"),
    path("meetings/<int:pk>/status/", views.meeting_status, name="meeting_status"),
    path("meetings/<int:pk>/response/", views.meeting_response, name="meeting_response"),
    path("meetings/<int:pk>/outreach/", views.meeting_outreach, name="meeting_outreach"),
    path("meetings/<int:pk>/outcomes/", views.meeting_outcomes, name="meeting_outcomes"),
    path("meetings/<int:pk>/narrative/", views.meeting_narrative, name="meeting_narrative"),
    path("meetings/<int:pk>/action-items/", views.meeting_action_item, name="meeting_action_item"),
    path("meetings/<int:pk>/feature-requests/", views.meeting_capture_request, name="meeting_capture_request"),
    path("meetings/<int:pk>/share/", views.meeting_share_create, name="meeting_share_create"),
    path("meetings/<int:pk>/share/revoke/", views.meeting_share_revoke, name="meeting_share_revoke"),
    path("meetings/<int:pk>/invite.ics", views.meeting_ics, name="meeting_ics"),
    path("meetings/<int:pk>/qbr.pdf", views.meeting_pdf, name="meeting_pdf"),
    path("feature-requests/", views.feature_request_list, name="feature_request_list"),
    path("feature-requests/new/", views.feature_request_create, name="feature_request_create"),
    path("feature-requests/<int:pk>/", views.feature_request_detail, name="feature_request_detail"),
    path("feature-requests/<int:pk>/status/", views.feature_request_status, name="feature_request_status"),
    path("feature-requests/<int:pk>/accounts/", views.feature_request_add_account, name="feature_request_add_account"),
    path("settings/qbr/", views.qbr_settings, name="qbr_settings"),
]

# Outside /o/<org_slug>/: the customer has a link, not an account (cs_platform/urls.py mounts it under /shared/).
shared_urlpatterns = [
    path("qbr/<str:token>/", views.qbr_shared, name="qbr_shared"),
]
