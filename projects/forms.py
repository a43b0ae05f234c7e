from django import forms

from projects.models import Project, Role


class ProjectSettingsForm(forms.ModelForm):
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

    def clean(self):
        cleaned = super().clean()
        for name in self.OPTIONAL_NUMBERS:
            if cleaned.get(name) is None:
                cleaned[name] = getattr(self.instance, name)
        return cleaned

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
