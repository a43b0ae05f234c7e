"""The import and batch forms: what the manager's pages send to the import services."""

from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL or CSV: one item per row.")
    batch = forms.CharField(
        max_length=200, required=False, help_text="Name the batch (defaults to the file name)."
    )


class BatchRestrictionForm(forms.Form):
    restricted = forms.BooleanField(required=False)
    usernames = forms.CharField(required=False, help_text="Comma-separated usernames.")
    groups = forms.CharField(required=False, help_text="Comma-separated group names.")

    @staticmethod
    def _split(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    def clean_usernames(self) -> list[str]:
        return self._split(self.cleaned_data["usernames"])

    def clean_groups(self) -> list[str]:
        return self._split(self.cleaned_data["groups"])
