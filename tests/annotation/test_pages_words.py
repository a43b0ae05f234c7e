"""Small words on the annotator's pages: plurals, the history's span tags shown (escaped),
and project counts that add up and say what they count."""

from django.test import Client

from annotation.authoring.services.prompts import prompt_write
from annotation.models import Item
from annotation.services.claiming import assignment_claim
from annotation.services.submission import annotation_submit
from projects.labels.models import LabelKind
from projects.labels.services import tag_label_save
from projects.models import Role
from tests.factories import add_member, make_items, make_project


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_write_page_counts_prompts_against_the_target_in_plural(db):
    project = make_project(slug="w", prompt_writing=True, response_source="queue", prompt_target=5)
    writer = add_member(project)
    prompt_write(project=project, user=writer, messages=[{"role": "user", "content": "Why?"}])
    page = logged_in(writer).get("/p/w/write/").content.decode()
    assert "You wrote 1 of 5 prompts" in page


def test_the_history_detail_shows_span_tags_and_labels_escaped(project, annotator):
    # given an annotation with a span tag on "<b>" text under a label with markup in its name
    make_items(project, 1, texts=lambda n, j: f"<b>bold</b> claim number {j}")
    lease = assignment_claim(user=annotator, project=project)
    first = lease.display_order[0]
    span = tag_label_save(project=project, name="<i>wrong</i>", colour="#ff0000")
    flag = tag_label_save(project=project, name="refusal", kind=LabelKind.RESPONSE)
    payload = {
        "ranking": [[rid] for rid in lease.display_order],
        "spans": [{"response": first, "start": 0, "end": 11, "label": span.pk, "note": "<no>"}],
        "labels": [{"response": first, "label": flag.pk}],
    }
    annotation, _ = annotation_submit(assignment_id=lease.pk, user=annotator, payload=payload)
    # when the annotator opens it in their history
    page = logged_in(annotator).get(f"/p/{project.slug}/history/{annotation.pk}/").content.decode()
    # then the tag is listed on its response, with the tagged text, all escaped
    assert 'data-start="0" data-end="11"' in page
    assert '<span class="tag-chip">&lt;i&gt;wrong&lt;/i&gt;</span>' in page
    assert '<q class="span-quote">&lt;b&gt;bold&lt;/b&gt;</q>' in page
    assert '<span class="span-note">&lt;no&gt;</span>' in page
    assert ">refusal</span>" in page
    assert "<i>wrong</i>" not in page and "1 spans" not in page
    assert "Your 1 span tag and 1 label" in page


def test_project_counts_add_up_and_name_what_they_count(project, annotator):
    # given 5 items with overlap 2: one complete, one fully leased, three still open
    items = make_items(project, 5)
    other = add_member(project, Role.ANNOTATOR, "other")
    for user in (annotator, other):
        lease = assignment_claim(user=user, project=project)
        annotation_submit(assignment_id=lease.pk, user=user,
                          payload={"ranking": [[rid] for rid in lease.display_order]})  # fmt: skip
    third = add_member(project, Role.ANNOTATOR, "third")
    assignment_claim(user=third, project=project)
    assignment_claim(user=add_member(project, Role.ANNOTATOR, "fourth"), project=project)
    assert Item.objects.filter(pk=items[0].pk, submitted_count=2).exists()
    # when the annotator opens the project
    page = logged_in(annotator).get(f"/p/{project.slug}/").content.decode()
    # then complete, waiting and in progress add up to the items, in the stats and the line
    assert "<strong>5</strong><span>items in all</span>" in page
    assert "<strong>1</strong><span>complete</span>" in page
    assert "<strong>3</strong><span>waiting for annotators</span>" in page
    assert "<strong>1</strong><span>in progress</span>" in page
    assert "3 items of 5 still wait for annotators (1 complete, 1 in progress)" in page
    # and the ranking page's progress line counts the same thing in the same words
    annotate = logged_in(annotator).get(f"/p/{project.slug}/annotate/").content.decode()
    assert "items waiting for annotators</p>" in annotate


def test_the_review_page_says_why_an_annotation_waits_in_words(db):
    # given an annotation sampled for review (review rate 1)
    project = make_project(slug="rv", responses_per_item=2, review_rate=1.0)
    item = make_items(project, 1)[0]
    annotator = add_member(project)
    lease = assignment_claim(user=annotator, project=project)
    annotation_submit(assignment_id=lease.pk, user=annotator,
                      payload={"ranking": [[rid] for rid in lease.display_order]})  # fmt: skip
    # when a reviewer opens the item
    reviewer = add_member(project, Role.REVIEWER, "rev")
    page = logged_in(reviewer).get(f"/p/rv/review/items/{item.pk}/").content.decode()
    # then the reason is said in words, not as its stored code
    assert "waiting for review (sampled at the review rate)" in page
