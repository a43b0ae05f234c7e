"""Forms of the loop page: pre-ranking and acquisition settings, generators, next round."""

from django import forms

from projects.models import Project
from training.loop.models import Generator, Round
from training.runs.models import ArtifactKind, ModelArtifact


class LoopSettingsForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [
            "reward_model", "assist_mode", "acquisition_rule", "disagreement_threshold",
            "disagreement_cap",
        ]  # fmt: skip
        help_texts = {
            "reward_model": "Scores every new item's responses in the background.",
            "disagreement_threshold": "0 to 1: how split an item's annotators must be for "
            "one more.",
            "disagreement_cap": "The most annotators an unsure item can reach.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward_model"].queryset = ModelArtifact.objects.filter(
            project=self.instance, kind=ArtifactKind.REWARD
        )

    def changed_settings(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class GeneratorForm(forms.ModelForm):
    class Meta:
        model = Generator
        fields = [
            "name", "kind", "policy", "model_path", "base_url", "model_name", "api_key_env",
            "temperature", "top_p", "max_new_tokens", "timeout_s", "max_retries",
            "requests_per_minute",
        ]  # fmt: skip
        help_texts = {
            "model_path": "Local: a model folder, a .gguf file, or a hub name (when no policy).",
            "base_url": "OpenAI-compatible: e.g. http://vllm:8000/v1",
            "api_key_env": "The NAME of the environment variable with the key on the workers, "
            "starting with PREFLAB_KEY_ (the key itself is never stored).",
        }

    # Not a URLField: in-cluster names such as http://vllm:8000/v1 have no domain.
    base_url = forms.CharField(
        max_length=500, required=False, help_text="OpenAI-compatible: e.g. http://vllm:8000/v1"
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = ModelArtifact.objects.filter(
            project=project, kind=ArtifactKind.POLICY
        )
        for name in ("temperature", "top_p", "max_new_tokens", "timeout_s", "max_retries"):
            self.fields[name].required = False

    def generator_fields(self) -> dict:
        data = self.cleaned_data
        return {
            name: value
            for name, value in data.items()
            if value is not None or name in ("policy", "requests_per_minute")
        }


class RoundStartForm(forms.Form):
    prompt_source = forms.ChoiceField(choices=Round.PromptSource.choices)
    prompts = forms.IntegerField(min_value=1, max_value=10_000, initial=50)
    generators = forms.ModelMultipleChoiceField(
        queryset=Generator.objects.none(), widget=forms.CheckboxSelectMultiple, required=False,
        help_text="None ticked: every active generator.",
    )  # fmt: skip

    def __init__(self, *args, project: Project, source_counts: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["generators"].queryset = project.generators.filter(active=True)
        if source_counts is not None:
            self._say_what_each_source_holds(source_counts)

    def _say_what_each_source_holds(self, counts: dict) -> None:
        # "New prompts" by default once every prompt was in a round starts a round that
        # cannot start: preselect a source that has prompts and say how many each has.
        field = self.fields["prompt_source"]
        field.choices = [
            (value, f"{label} · {_held(counts.get(value))}") for value, label in field.choices
        ]
        ready = [
            value
            for value, _ in field.choices
            if isinstance(counts.get(value), int) and counts[value]
        ]
        if ready:
            self.initial.setdefault("prompt_source", ready[0])
        field.help_text = " ".join(f"{why}." for why in counts.values() if isinstance(why, str))


def _held(count) -> str:
    if isinstance(count, int):
        return "none left" if count == 0 else f"{count:,} prompt{'s' if count != 1 else ''}"
    return "unavailable"
