# The HubSpot webhook endpoint is added here.
urlpatterns: list = []
