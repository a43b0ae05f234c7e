"""Span tags and response labels sent with a submit: code-point offsets into the source text."""

import pytest
from rest_framework.test import APIClient

from annotation.models import Annotation, Item, ItemResponse, Prompt, Response, SpanTag
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from common.errors import ApplicationError
from projects.labels.services import tag_label_save

TEXTS = [
    "Paris is the capital of **France**.\n\n```python\nprint('hi')\n```",
    "héllo 👋 wörld: emoji are one code point each",
    "مرحبا بالعالم — right-to-left text",
    "A plain answer.",
]


@pytest.fixture
def item(project):
    prompt = Prompt.objects.create(
        project=project, external_id="s1", messages=[{"role": "user", "content": "?"}]
    )
    item = Item.objects.create(project=project, prompt=prompt, open_slots=project.overlap)
    for position, text in enumerate(TEXTS):
        response = Response.objects.create(prompt=prompt, text=text)
        ItemResponse.objects.create(item=item, response=response, position=position)
    return item


@pytest.fixture
def labels(project):
    return {
        "error": tag_label_save(project=project, name="factual error", hotkey="f"),
        "good": tag_label_save(project=project, name="good reasoning", hotkey="q"),
        "refusal": tag_label_save(project=project, name="refusal", kind="response"),
    }


def response_id(text: str) -> int:
    return Response.objects.get(text=text).pk


def submit(project, user, **extra):
    lease = assignment_claim(user=user, project=project)
    payload = {"ranking": [[rid] for rid in lease.display_order], **extra}
    return annotation_submit(assignment_id=lease.pk, user=user, payload=payload)[0]


def test_spans_round_trip_as_code_points(project, annotator, item, labels):
    emoji_text = TEXTS[1]
    start = emoji_text.index("👋")
    rtl = TEXTS[2]
    spans = [
        {
            "response": response_id(TEXTS[0]),
            "start": 0,
            "end": 5,
            "label": labels["error"].pk,
            "note": "fine",
        },
        {
            "response": response_id(TEXTS[0]),
            "start": 2,
            "end": 20,
            "label": labels["good"].pk,
        },  # overlaps
        {
            "response": response_id(emoji_text),
            "start": start,
            "end": start + 1,
            "label": labels["good"].pk,
        },
        {"response": response_id(rtl), "start": 0, "end": 5, "label": labels["error"].pk},
    ]
    annotation = submit(
        project,
        annotator,
        spans=spans,
        labels=[{"response": response_id(TEXTS[3]), "label": labels["refusal"].pk}],
    )
    stored = {
        (s.response_id, s.start, s.end): s for s in SpanTag.objects.filter(annotation=annotation)
    }
    assert len(stored) == 4
    assert emoji_text[start : start + 1] == "👋"
    assert Response.objects.get(pk=response_id(rtl)).text[0:5] == "مرحبا"
    assert stored[(response_id(TEXTS[0]), 0, 5)].note == "fine"
    assert list(annotation.response_labels.values_list("label__name", flat=True)) == ["refusal"]


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ({"start": 5, "end": 5}, "is not a stretch"),
        ({"start": 6, "end": 2}, "is not a stretch"),
        ({"start": 0, "end": 10_000}, "is not a stretch"),
        ({"start": -1, "end": 2}, "is not a stretch"),
        ({"start": "0", "end": 2}, "must be an integer"),
        ({"start": 0, "end": 2, "label": 999999}, "not in this project's tag set"),
        ({"start": 0, "end": 2, "label": "refusal"}, "response label, not a span one"),
        ({"start": 0, "end": 2, "response": 424242}, "not in this item"),
        ({"start": 0, "end": 2, "note": "x" * 501}, "at most 500"),
    ],
)
def test_invalid_spans_are_refused_with_a_clear_message(
    project, annotator, item, labels, span, message
):
    entry = {"response": response_id(TEXTS[3]), "label": labels["error"].pk, **span}
    if entry["label"] == "refusal":
        entry["label"] = labels["refusal"].pk
    with pytest.raises(ApplicationError, match=message):
        submit(project, annotator, spans=[entry])
    assert not Annotation.objects.exists() and not SpanTag.objects.exists()


def test_the_same_span_twice_is_a_mistake(project, annotator, item, labels):
    span = {"response": response_id(TEXTS[3]), "start": 0, "end": 2, "label": labels["error"].pk}
    with pytest.raises(ApplicationError, match="already tagged"):
        submit(project, annotator, spans=[span, dict(span)])


def test_a_span_label_cannot_flag_a_whole_response(project, annotator, item, labels):
    with pytest.raises(ApplicationError, match="span label, not a response one"):
        submit(
            project,
            annotator,
            labels=[{"response": response_id(TEXTS[3]), "label": labels["error"].pk}],
        )


def test_spans_through_the_api(project, annotator, item, labels):
    client = APIClient()
    client.force_authenticate(annotator)
    body = client.post(f"/api/v1/projects/{project.slug}/claim/").json()
    ids = [r["id"] for r in body["item"]["responses"]]
    span = {"response": response_id(TEXTS[1]), "start": 6, "end": 7, "label": labels["good"].pk}
    response = client.post(
        f"/api/v1/assignments/{body['id']}/submit/",
        {"ranking": [[i] for i in ids], "spans": [span]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["spans"] == [{**span, "note": ""}]
    stored = Annotation.objects.get(user=annotator).spans.get()
    assert Response.objects.get(pk=stored.response_id).text[stored.start : stored.end] == "👋"


def test_a_project_can_require_a_tag_on_every_response(project, annotator, item, labels):
    # given a project that wants every response tagged
    project.require_response_tags = True
    project.save()
    lease = assignment_claim(user=annotator, project=project)
    ranking = [[rid] for rid in lease.display_order]
    tagged = lease.display_order[:3]
    spans = [
        {"response": rid, "start": 0, "end": 1, "label": labels["error"].pk} for rid in tagged[:2]
    ]
    flag = [{"response": tagged[2], "label": labels["refusal"].pk}]
    # when the fourth response (D on the annotator's page) has no tag, the submit is refused
    with pytest.raises(ApplicationError, match="every response; D has none"):
        annotation_submit(
            assignment_id=lease.pk,
            user=annotator,
            payload={"ranking": ranking, "spans": spans, "labels": flag},
        )
    with pytest.raises(ApplicationError, match="A, B, C, D have none"):
        annotation_submit(assignment_id=lease.pk, user=annotator, payload={"ranking": ranking})
    # then a label on the last one completes it
    flag.append({"response": lease.display_order[3], "label": labels["refusal"].pk})
    annotation, _ = annotation_submit(
        assignment_id=lease.pk,
        user=annotator,
        payload={"ranking": ranking, "spans": spans, "labels": flag},
    )
    assert annotation.spans.count() == 2 and annotation.response_labels.count() == 2
