"""The manager's forms: a project's settings, members, groups, guidelines, tags and rubric.

Each declares its ``fieldsets`` (common/web/fieldsets.py), which
``templates/partials/form_fields.html`` renders; fieldsets that apply to one judgement mode
or to prompt writing only carry ``show_when`` and hide while they do not apply.
"""

import copy

from django import forms

from common.errors import ApplicationError
from common.web.fieldsets import Fieldset, FieldsetsMixin
from projects import services
from projects.models import Project, RankingMode, Role

# The settings every mode shares, then one fieldset per mode with what only it uses.
PROJECT_FIELDSETS = (
    Fieldset("Basics", ("name", "slug", "description")),
    Fieldset(
        "Judgement",
        ("ranking_mode", "overlap", "rationale", "require_response_tags"),
        help="What annotators do with each item, and how many of them see it.",
    ),
    # Pairwise always compares two responses, so K is asked only where it can vary.
    Fieldset("Responses", ("responses_per_item",), show_when="ranking_mode=rank,rate"),
    Fieldset("Ranking", ("ties_allowed",), show_when="ranking_mode=rank"),
    Fieldset("Pairwise", ("pairwise_strength",), show_when="ranking_mode=pairwise"),
    Fieldset("Rating", ("rating_scale",), show_when="ranking_mode=rate"),
    Fieldset("Authoring", ("prompt_writing",)),
    Fieldset(
        "Written prompts",
        ("prompt_categories", "prompt_target", "response_source"),
        show_when="prompt_writing=on",
        help="Where the prompts annotators write go, and who answers them.",
    ),
    Fieldset(
        "Quality control",
        ("gold_rate", "gold_threshold", "gold_min_answers", "gold_pause", "review_rate"),
    ),
    Fieldset("Work", ("lease_minutes",)),
)


class ProjectSettingsForm(FieldsetsMixin, forms.ModelForm):
    fieldsets = PROJECT_FIELDSETS

    class Meta:
        model = Project
        fields = [
            "name", "description", "ranking_mode", "responses_per_item", "ties_allowed",
            "pairwise_strength", "rating_scale", "overlap", "lease_minutes", "rationale",
            "require_response_tags", "prompt_writing", "prompt_categories", "prompt_target",
            "response_source", "gold_rate", "gold_threshold", "gold_min_answers", "gold_pause",
            "review_rate",
        ]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "responses_per_item": "Responses compared per item (K), 2 to 9; 2 in pairwise mode.",
            "overlap": "Annotators who judge each item, 1 to 10.",
            "pairwise_strength": "Also ask how much better the chosen response is (1 to 3).",
            "rating_scale": "Scores run from 1 to this number (2 to 10).",
            "lease_minutes": "How long a claimed item stays reserved without a heartbeat.",
            "prompt_writing": "Annotators write prompts, which then get responses.",
            "prompt_categories": "One per line.",
            "prompt_target": "Prompts each annotator is asked to write; 0 for no target.",
            "gold_rate": "Share of claims that serve a gold item, 0 to 0.5 (0.05 is typical).",
            "gold_threshold": "Gold score (0 to 1) below which managers are alerted.",
            "gold_min_answers": "Gold items an annotator answers before their score counts.",
            "gold_pause": "Also pause annotators below the threshold until a manager resumes them.",
            "review_rate": "Share of annotations sampled for review; unsure ones always go.",
        }

    prompt_categories = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One per line."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Older clients (and the create page) may leave the authoring settings out.
        for name in ("response_source", "prompt_target", *self.OPTIONAL_NUMBERS):
            self.fields[name].required = False
        if self.instance and isinstance(self.instance.prompt_categories, list):
            self.initial["prompt_categories"] = "\n".join(self.instance.prompt_categories)

    def clean_response_source(self) -> str:
        return self.cleaned_data["response_source"] or self.instance.response_source

    def clean_prompt_target(self) -> int:
        value = self.cleaned_data["prompt_target"]
        return self.instance.prompt_target if value is None else value

    # Left out by older clients and the create page: keep what the project has.
    OPTIONAL_NUMBERS = ("gold_rate", "gold_threshold", "gold_min_answers", "review_rate")

    def clean_responses_per_item(self) -> int:
        """Pairwise means two responses, whatever the (hidden) K control still holds."""
        if self.cleaned_data.get("ranking_mode") == RankingMode.PAIRWISE:
            return 2
        return self.cleaned_data["responses_per_item"]

    def clean(self):
        cleaned = super().clean()
        for name in self.OPTIONAL_NUMBERS:
            if cleaned.get(name) is None:
                cleaned[name] = getattr(self.instance, name)
        self._add_setting_problems(cleaned)
        return cleaned

    def _add_setting_problems(self, cleaned: dict) -> None:
        """The service's range checks, each at its field. Run here, before Django checks the
        model's constraints, they keep those (which name no field) off the top of the form."""
        scratch = copy.copy(self.instance)
        model_fields = {field.name for field in Project._meta.fields}
        for name, value in cleaned.items():
            if name in model_fields:
                setattr(scratch, name, value)
        for field, message in services.project_problems(scratch):
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)

    def changed_settings(self) -> dict:
        """The settings to save: what was edited, and K when pairwise set it to 2 while the
        hidden control still holds the old value (``changed_data`` compares raw input)."""
        names = set(self.changed_data)
        if self.cleaned_data.get("responses_per_item") != self.initial.get("responses_per_item"):
            names.add("responses_per_item")
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}

    def add_service_error(self, exc: ApplicationError) -> None:
        """Show a service's refusal at the field it names, or above the form when the form
        has no such field (or hides it: pairwise has no K control to point at)."""
        field = exc.extra.get("field")
        if field == "responses_per_item" and self.data.get("ranking_mode") == RankingMode.PAIRWISE:
            field = "ranking_mode"
        self.add_error(field if field in self.fields else None, exc.message)

    def clean_prompt_categories(self) -> list[str]:
        return [
            line for line in self.cleaned_data["prompt_categories"].splitlines() if line.strip()
        ]


class ProjectCreateForm(ProjectSettingsForm):
    slug = forms.SlugField(
        max_length=80, required=False, help_text="Left empty, made from the name."
    )

    class Meta(ProjectSettingsForm.Meta):
        fields = ["slug", *ProjectSettingsForm.Meta.fields]


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class GroupForm(forms.Form):
    name = forms.CharField(max_length=100)
    usernames = forms.CharField(
        help_text="Comma-separated usernames of project members.", widget=forms.TextInput()
    )

    def clean_usernames(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["usernames"].split(",") if name.strip()]


class GuidelineForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}), strip=False)
    summary = forms.CharField(max_length=200, required=False, help_text="What changed, in a line.")


class TagLabelForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=[("span", "Span tag"), ("response", "Response label")])
    colour = forms.CharField(
        max_length=7, initial="#f5c542", widget=forms.TextInput(attrs={"type": "color"})
    )
    hotkey = forms.CharField(max_length=1, required=False)
    description = forms.CharField(max_length=500, required=False)


class RatingDimensionForm(forms.Form):
    name = forms.CharField(max_length=80)
    scale = forms.IntegerField(min_value=2, max_value=10, initial=5)
    hotkey = forms.CharField(max_length=1, required=False)
    description = forms.CharField(max_length=500, required=False)
