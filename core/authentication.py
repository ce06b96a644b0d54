"""API-key authentication. Kept apart from core.api because DRF imports it while loading its own views."""

import hashlib
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from core.models import ApiKey
from core.tenancy import platform_scope


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyUser:
    """Stands in for request.user when a request authenticates with an API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <key>'.")
        raw_key = header[1].decode(errors="replace")
        with platform_scope():
            # get(), not first(): the hash is unique, and first() would add an ORDER BY to a one-row lookup.
            try:
                api_key = ApiKey.objects.select_related("organization").get(hashed_secret=hash_api_key(raw_key))
            except ApiKey.DoesNotExist:
                api_key = None
            if api_key is None or api_key.revoked_at is not None:
                raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
            now = timezone.now()
            # Record use at most once a minute: a write on every request would cost more than it tells.
            if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
                ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.authentication.ApiKeyAuthentication"
    name = "BearerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organization's API key."}
