from django.contrib import admin

from annotation.importing.models import ImportJob
from annotation.models import Annotation, Assignment, Batch, Item, ItemResponse, Prompt, Response


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "external_id", "source", "created_at"]
    list_filter = ["project", "source"]
    search_fields = ["external_id"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["id", "prompt", "model_name", "created_at"]
    search_fields = ["model_name"]
    raw_id_fields = ["prompt", "author"]


class ItemResponseInline(admin.TabularInline):
    model = ItemResponse
    extra = 0
    raw_id_fields = ["response"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "batch", "priority", "open_slots", "submitted_count", "round"]
    list_filter = ["project", "restricted"]
    raw_id_fields = ["prompt", "batch"]
    inlines = [ItemResponseInline]


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "restricted", "created_at"]
    filter_horizontal = ["allowed_users", "allowed_groups"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "user", "state", "claimed_at", "lease_expires_at"]
    list_filter = ["state", "project"]
    raw_id_fields = ["item", "user"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "user", "mode", "none_acceptable", "time_spent_ms", "created_at"]
    list_filter = ["project", "mode", "none_acceptable"]
    raw_id_fields = ["assignment", "item", "user"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "original_name",
        "state",
        "total_rows",
        "created_items",
        "error_count",
    ]
    list_filter = ["state", "project"]
