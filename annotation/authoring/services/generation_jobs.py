"""Fill a written prompt with model-generated responses through the generation registry."""

import logging

from django.db import transaction

from annotation.authoring.generation import GenerationNotConfigured, generate_responses
from annotation.models import Prompt, PromptStatus, Response, ResponseOrigin
from annotation.services.items_build import item_create_for_prompt

logger = logging.getLogger(__name__)


def prompt_responses_generate(*, prompt_id: int) -> Prompt:
    """Ask the project's backend for K responses; the item appears only with all of them.

    A failure leaves the prompt waiting with the reason for managers to read, never a
    half-filled item. Generation runs outside the transaction (it may take minutes).
    """
    prompt = Prompt.objects.select_related("project").get(pk=prompt_id)
    if prompt.status != PromptStatus.NEEDS_GENERATION:
        return prompt
    project = prompt.project
    try:
        generated = generate_responses(
            prompt.messages, project.responses_per_item, backend=project.generation_backend
        )
    except (GenerationNotConfigured, ValueError, RuntimeError) as exc:
        logger.warning("generation for prompt %s failed: %s", prompt.pk, exc)
        Prompt.objects.filter(pk=prompt.pk, status=PromptStatus.NEEDS_GENERATION).update(
            status_reason=str(exc)[:500]
        )
        prompt.refresh_from_db()
        return prompt
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().select_related("project").get(pk=prompt.pk)
        if prompt.status != PromptStatus.NEEDS_GENERATION:
            return prompt  # a duplicate delivery got here first
        responses = Response.objects.bulk_create(
            Response(
                prompt=prompt, text=answer.text, model_name=answer.model_name,
                origin=ResponseOrigin.MODEL, metadata={"generation": answer.settings},
            )
            for answer in generated
        )  # fmt: skip
        item_create_for_prompt(prompt=prompt, responses=responses)
    return prompt
