"""Django admin for platform operators (superusers). It works across tenants on purpose, so every
admin view runs in platform_scope(): the one explicit, audited-by-grep exception to tenant scoping."""

from django.contrib import admin

from core.models import ApiKey, AuditEntry, Membership, Organization
from core.tenancy import platform_scope


def _cross_tenant_admin_view(admin_view_method):
    def admin_view(view, cacheable=False):
        wrapped = admin_view_method(view, cacheable)

        def scoped(request, *args, **kwargs):
            with platform_scope():
                response = wrapped(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return scoped

    return admin_view


admin.site.admin_view = _cross_tenant_admin_view(admin.site.admin_view)
admin.site.site_header = "CS Platform operations"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "default_currency", "timezone", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "role", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "organization"]
    readonly_fields = ["hashed_secret", "prefix"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "action", "object_repr", "actor"]
    list_filter = ["action", "organization"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
