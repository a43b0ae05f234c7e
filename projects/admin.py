from django.contrib import admin

from projects.models import AnnotatorGroup, Guideline, GuidelineAck, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "ranking_mode", "responses_per_item", "overlap", "archived"]
    list_filter = ["ranking_mode", "archived"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]


@admin.register(AnnotatorGroup)
class AnnotatorGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "project"]
    filter_horizontal = ["members"]


@admin.register(Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "summary", "published_by", "published_at"]
    list_filter = ["project"]

    def has_change_permission(self, request, obj=None):
        return False  # published versions are immutable: publish a new one instead


@admin.register(GuidelineAck)
class GuidelineAckAdmin(admin.ModelAdmin):
    list_display = ["guideline", "user", "acknowledged_at"]
