"""The demo loader: two projects, tags, users; running it twice changes nothing."""

from django.core.management import call_command

from annotation.authoring.services.prompts import prompt_write
from annotation.models import Item
from projects.models import Project


def test_load_demo_twice(db, capsys):
    call_command("load_demo")
    call_command("load_demo")
    demo = Project.objects.get(slug="demo")
    writing = Project.objects.get(slug="demo-writing")
    assert Item.objects.filter(project=demo).count() == 36
    # three gold items, their known rankings mapped from file positions to response ids
    gold = Item.objects.get(project=demo, prompt__external_id="demo-003", is_gold=True)
    texts = {r.pk: r.text for r in gold.responses.all()}
    best = texts[gold.gold_ranking[0][0]]
    assert best.startswith("It's a classic **cross-site scripting (XSS) test payload**")
    assert Item.objects.filter(project=demo, is_gold=True).count() == 3
    assert (demo.gold_rate, demo.review_rate) == (0.1, 0.25)
    assert sorted(demo.tag_labels.values_list("name", flat=True)) == [
        "factual error", "good reasoning", "off-topic", "refusal", "unsafe",
    ]  # fmt: skip
    assert writing.memberships.count() == 6 and writing.response_source == "writer"
    # an annotator can write in the writing project once they read its guidelines
    from django.contrib.auth import get_user_model

    from projects.services import guideline_acknowledge

    annotator = get_user_model().objects.get(username="annotator1")
    guideline_acknowledge(project=writing, user=annotator)
    written = prompt_write(
        project=writing, user=annotator, category="facts",
        messages=[{"role": "user", "content": "Why is the sky blue?"}],
        responses=["Rayleigh scattering.", "Because of the sea.", "It is not."],
    )  # fmt: skip
    assert written.prompt.items.get().submitted_count == 1
    assert "demo-writing" in capsys.readouterr().out


def test_the_demo_has_round_two_prompts_and_smollm2_when_it_is_installed(db):
    from training.loop.services.rounds import round_prompts
    from training.ml.bundled_models import bundled_smollm2

    call_command("load_demo")
    demo = Project.objects.get(slug="demo")
    assert len(round_prompts(demo, "new", 100)) == 8  # no item yet: round 2's prompts
    generators = list(demo.generators.values_list("name", "kind", "model_path"))
    # `make ml` installs SmolLM2, so the demo always gets its generator under `make test`.
    assert generators == [("SmolLM2-135M-Instruct", "local", str(bundled_smollm2()))]


def test_the_demo_arrives_with_work_done_and_work_left(db):
    from annotation.models import Annotation
    from annotation.quality.models import Review
    from demo.work import ANNOTATIONS_EACH, ANNOTATORS

    # given a fresh demo
    call_command("load_demo")
    demo = Project.objects.get(slug="demo")

    # then simulated annotators ranked part of it, through the real services
    simulated = Annotation.objects.filter(project=demo, user__username__startswith="sim.")
    assert simulated.count() == ANNOTATIONS_EACH * len(ANNOTATORS)
    items = Item.objects.filter(project=demo, is_gold=False)
    done_twice = [i for i in items if i.submitted_count >= 2]
    assert len(done_twice) >= 15
    # with agreement and some disagreement
    rankings = {}
    for annotation in simulated.filter(status="active"):
        rankings.setdefault(annotation.item_id, []).append(annotation.ranking)
    pairs = [r for r in rankings.values() if len(r) == 2]
    agreeing = sum(1 for a, b in pairs if a[0] == b[0])
    assert 0 < agreeing < len(pairs)
    # gold answers, and reviews: two accepted, one rejected
    assert simulated.filter(item__is_gold=True).exists()
    verdicts = sorted(Review.objects.filter(project=demo).values_list("verdict", flat=True))
    assert verdicts == ["accepted", "accepted", "rejected"]
    # while the people trying the demo still find items nobody has touched
    assert sum(1 for i in items if i.submitted_count == 0) >= 10

    # and loading again adds nothing
    call_command("load_demo")
    assert simulated.count() == ANNOTATIONS_EACH * len(ANNOTATORS)


def test_simulated_rationales_name_responses_by_the_letters_their_annotator_saw(db):
    import json

    from annotation.models import Annotation
    from demo.work import REFERENCE

    # given a fresh demo, whose reference reasons name responses by file position ("[2]")
    call_command("load_demo")
    reference = json.loads(REFERENCE.read_text())
    written = Annotation.objects.filter(
        project__slug="demo", user__username__startswith="sim.", rationale__gt=""
    ).select_related("item__prompt")
    assert written.exists()

    # then each stored reason names them as that annotator's page lettered them
    reordered = 0
    for annotation in written:
        in_file = list(
            annotation.item.item_responses.order_by("position").values_list(
                "response_id", flat=True
            )
        )
        expected = reference[annotation.item.prompt.external_id]["why"]
        for position, response_id in enumerate(in_file):
            seen = "ABCD"[annotation.display_order.index(response_id)]
            expected = expected.replace(f"[{position}]", seen)
            reordered += seen != "ABCD"[position]
        assert annotation.rationale == expected.removeprefix("Gold: ")
    # the shuffle did move responses, so file positions would have named the wrong ones
    assert reordered > 0
