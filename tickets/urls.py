from django.urls import path

from tickets import escalation_views, views

urlpatterns = [
    path("tickets/", views.inbox, name="inbox"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/bulk/", views.inbox_bulk, name="inbox_bulk"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:number>/post/", views.ticket_post, name="ticket_post"),
    path("tickets/<int:number>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:number>/follow/", views.ticket_follow, name="ticket_follow"),
    path("tickets/<int:number>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:number>/properties/", views.ticket_properties, name="ticket_properties"),
    path("tickets/<int:number>/messages/<int:pk>/resend/", views.message_resend, name="message_resend"),
    path("tickets/<int:number>/attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("tickets/<int:number>/escalate/", escalation_views.escalate, name="ticket_escalate"),
    path(
        "tickets/<int:number>/escalations/<int:pk>/share/",
        escalation_views.escalation_share_view,
        name="escalation_share",
    ),
    path("settings/github/", escalation_views.github_settings, name="github_settings"),
]
