"""The snapshot form: what the page sends to ``snapshot_create`` (which validates)."""

from django import forms

from common.labels import human
from training.datasets.export.binarize import Binarization
from training.datasets.export.options import AGGREGATIONS, FILE_TYPES, FORMATS, STYLES


def _choices(values):
    return [(v, human(v)) for v in values]


class SnapshotForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    formats = forms.MultipleChoiceField(
        choices=_choices(FORMATS), initial=["pairwise"], widget=forms.CheckboxSelectMultiple
    )
    file_types = forms.MultipleChoiceField(
        choices=_choices(FILE_TYPES), initial=list(FILE_TYPES), widget=forms.CheckboxSelectMultiple
    )
    aggregation = forms.ChoiceField(choices=_choices(AGGREGATIONS), initial="per_annotator")
    train = forms.FloatField(initial=0.9, min_value=0, max_value=1)
    validation = forms.FloatField(initial=0.0, min_value=0, max_value=1)
    test = forms.FloatField(initial=0.1, min_value=0, max_value=1)
    seed = forms.IntegerField(initial=0)
    binarization = forms.ChoiceField(choices=_choices([b.value for b in Binarization]))
    min_margin = forms.FloatField(initial=0, min_value=0, required=False)
    none_acceptable = forms.ChoiceField(choices=_choices(["exclude", "flag"]))
    soft_labels = forms.BooleanField(required=False)
    style = forms.ChoiceField(choices=_choices(STYLES))
    rounds = forms.CharField(required=False, help_text="e.g. 1,2 (empty: all)")
    review = forms.ChoiceField(choices=_choices(["any", "reviewed", "accepted"]))
    min_agreement = forms.FloatField(required=False, min_value=0, max_value=1)
    min_annotator_weight = forms.FloatField(required=False, min_value=0, max_value=1)
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tags_present = forms.CharField(required=False, help_text="tag names, comma-separated")
    tags_absent = forms.CharField(required=False, help_text="tag names, comma-separated")
    assistance = forms.ChoiceField(
        choices=_choices(["any", "blind", "assisted"]),
        required=False,
        help_text="blind or assisted: only annotations made without or with the reward "
        "model's suggested order",
    )

    def options(self) -> dict:
        d = self.cleaned_data
        return {
            "formats": d["formats"],
            "file_types": d["file_types"],
            "aggregation": d["aggregation"],
            "splits": {name: d[name] or 0 for name in ("train", "validation", "test")},
            "seed": d["seed"],
            "binarization": d["binarization"],
            "min_margin": d["min_margin"] or 0,
            "none_acceptable": d["none_acceptable"],
            "soft_labels": d["soft_labels"],
            "style": d["style"],
            "filters": {
                "rounds": d["rounds"],
                "review": d["review"],
                "min_agreement": d["min_agreement"],
                "min_annotator_weight": d["min_annotator_weight"],
                "created_from": d["created_from"].isoformat() if d["created_from"] else None,
                "created_to": d["created_to"].isoformat() if d["created_to"] else None,
                "tags_present": d["tags_present"],
                "tags_absent": d["tags_absent"],
                "assistance": d.get("assistance") or "any",
            },
        }
