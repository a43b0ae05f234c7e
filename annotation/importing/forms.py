"""The import and batch forms: what the manager's pages send to the import services.

Both render through ``templates/partials/form_fields.html``: label above, help under, errors
at the field.
"""

from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL or CSV: one item per row.")
    batch = forms.CharField(
        max_length=200, required=False, help_text="Name the batch (defaults to the file name)."
    )


class BatchRestrictionForm(forms.Form):
    restricted = forms.BooleanField(
        required=False, help_text="Serve its items only to the annotators and groups below."
    )
    usernames = forms.CharField(
        label="Annotators", required=False, help_text="Comma-separated usernames."
    )
    groups = forms.CharField(required=False, help_text="Comma-separated group names.")

    @classmethod
    def for_batch(cls, batch) -> "BatchRestrictionForm":
        """The form showing a batch's current access; ids carry the batch's id, since the
        batches page shows one form per batch."""
        initial = {
            "restricted": batch.restricted,
            "usernames": ", ".join(user.username for user in batch.allowed_users.all()),
            "groups": ", ".join(group.name for group in batch.allowed_groups.all()),
        }
        return cls(initial=initial, auto_id=f"batch-{batch.pk}-%s")

    @staticmethod
    def _split(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    def clean_usernames(self) -> list[str]:
        return self._split(self.cleaned_data["usernames"])

    def clean_groups(self) -> list[str]:
        return self._split(self.cleaned_data["groups"])
