"""The snapshot form: what the page sends to ``snapshot_create`` (which validates)."""

from django import forms

from common.labels import human
from common.web.fieldsets import Fieldset, FieldsetsMixin
from training.datasets.export.binarize import Binarization
from training.datasets.export.options import AGGREGATIONS, FILE_TYPES, FORMATS, STYLES


def _choices(values):
    return [(v, human(v)) for v in values]


class SnapshotForm(FieldsetsMixin, forms.Form):
    """An export's options, each with its default and a line of help; the filters, rarely
    used, are the last group (the page folds it away)."""

    fieldsets = (
        Fieldset("What to export", ("name", "formats", "file_types", "aggregation", "style")),
        Fieldset("Pairs", ("binarization", "min_margin", "none_acceptable", "soft_labels"),
                 help="How rankings become chosen/rejected pairs."),
        Fieldset("Splits", ("train", "validation", "test", "seed"),
                 help="By prompt group: every response to a prompt lands in one split."),
        Fieldset("Filters", ("rounds", "review", "min_agreement", "min_annotator_weight",
                             "created_from", "created_to", "tags_present", "tags_absent",
                             "assistance"), help="Which annotations go in. Default: all."),
    )  # fmt: skip

    name = forms.CharField(
        required=False, max_length=200, help_text="Optional; the snapshot's number names it."
    )
    formats = forms.MultipleChoiceField(
        choices=_choices(FORMATS), initial=["pairwise"], widget=forms.CheckboxSelectMultiple,
        help_text="One folder of files per format. Default: pairwise.",
    )  # fmt: skip
    file_types = forms.MultipleChoiceField(
        choices=_choices(FILE_TYPES), initial=list(FILE_TYPES),
        widget=forms.CheckboxSelectMultiple, help_text="Default: all of them.",
    )  # fmt: skip
    aggregation = forms.ChoiceField(
        choices=_choices(AGGREGATIONS), initial="per_annotator",
        help_text="One row per annotator's ranking, or annotators' rankings combined.",
    )  # fmt: skip
    train = forms.FloatField(initial=0.9, min_value=0, max_value=1, label="Training",
                             help_text="Share of prompt groups, 0 to 1. Default: 0.9.")  # fmt: skip
    validation = forms.FloatField(initial=0.0, min_value=0, max_value=1,
                                  help_text="Share of prompt groups. Default: 0.")  # fmt: skip
    test = forms.FloatField(initial=0.1, min_value=0, max_value=1,
                            help_text="Share of prompt groups. Default: 0.1.")  # fmt: skip
    seed = forms.IntegerField(initial=0, label="Random seed",
                              help_text="Which groups go to which split. Default: 0.")  # fmt: skip
    binarization = forms.ChoiceField(
        choices=_choices([b.value for b in Binarization]),
        help_text="Which pairs of a ranking become rows.",
    )
    min_margin = forms.FloatField(
        initial=0, min_value=0, required=False,
        help_text="Leave out pairs ranked closer than this. Default: 0 (keep all).",
    )  # fmt: skip
    none_acceptable = forms.ChoiceField(
        choices=_choices(["exclude", "flag"]),
        help_text="Rankings where no response was acceptable.",
    )
    soft_labels = forms.BooleanField(
        required=False, label="Soft labels",
        help_text="Add the consensus probability of each pair.",
    )  # fmt: skip
    style = forms.ChoiceField(
        choices=_choices(STYLES), help_text="Chat messages (conversational) or plain text."
    )
    rounds = forms.CharField(required=False, help_text="E.g. 1,2. Empty: all rounds.")
    review = forms.ChoiceField(
        choices=_choices(["any", "reviewed", "accepted"]), help_text="Default: any."
    )
    min_agreement = forms.FloatField(required=False, min_value=0, max_value=1,
                                     help_text="0 to 1. Empty: no minimum.")  # fmt: skip
    min_annotator_weight = forms.FloatField(required=False, min_value=0, max_value=1,
                                            help_text="0 to 1. Empty: no minimum.")  # fmt: skip
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text="Annotations made on or after.")  # fmt: skip
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Annotations made on or before.")  # fmt: skip
    tags_present = forms.CharField(required=False, help_text="Tag names, comma-separated.")
    tags_absent = forms.CharField(required=False, help_text="Tag names, comma-separated.")
    assistance = forms.ChoiceField(
        choices=_choices(["any", "blind", "assisted"]),
        required=False,
        help_text="Only annotations made without (blind) or with (assisted) the reward "
        "model's suggested order. Default: any.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

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
