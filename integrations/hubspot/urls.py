# HubSpot's own settings pages (stage mapping, field ownership, conflicts) are added here.
urlpatterns: list = []
