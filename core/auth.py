"""Sign-in: by email or username, with failed-login throttling per (username, address) and per address."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache


class EmailOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=username.strip()).order_by("pk").first()
        if user is None:
            user = user_model.objects.filter(username=username.strip()).first()
        if user is None:
            user_model().set_password(password)  # same work as a real check: timing does not tell who exists
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _throttle_keys(request, username: str) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    address = client_address(request)
    return [
        (f"login-failures:user:{username.strip().lower()}:{address}", limit),
        # Spraying many usernames from one address trips this wider limit.
        (f"login-failures:address:{address}", limit * 4),
    ]


def login_is_locked(request, username: str) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _throttle_keys(request, username))


def login_failure_record(request, username: str) -> None:
    for key, _ in _throttle_keys(request, username):
        cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_failures_clear(request, username: str) -> None:
    cache.delete(_throttle_keys(request, username)[0][0])


class ThrottledAuthenticationForm(AuthenticationForm):
    username = forms.CharField(
        label="Email", widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
        "locked": "Too many failed sign-ins. Wait %(minutes)d minutes or reset your password.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if login_is_locked(self.request, username):
            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": settings.LOGIN_FAILURE_WINDOW_SECONDS // 60},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(self.request, username)
            raise
        login_failures_clear(self.request, username)
        return cleaned
