"""Test settings: the base settings plus what makes the suite fast and deterministic."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from cs_platform.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
CELERY_TASK_ALWAYS_EAGER = True  # the worker test starts a real worker and turns this off
OUTBOUND_HTTP_ALLOW_PRIVATE = True  # the fakes listen on 127.0.0.1; tests/core/test_outbound_http.py turns it off

import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="cs-platform-test-media-")
