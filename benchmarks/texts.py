"""Seeded prompts and responses shaped like chat preference data (lengths, turns), not lorem."""

import random

WORDS = """
the model answer should be clear and a an of to in for on with as by at from that this it is
are was be can will would could may might not no yes but or and if then because so while when
where which who how why what data function value user request result error example step first
second finally however therefore also only each every some many most few more less better worse
code python list string number table query index server client memory time cost risk plan test
explain describe compare summarize translate write improve review check simple short long safe
recipe garden travel budget email letter story poem history science health exercise music movie
you your we our they their people team project customer question problem solution approach idea
because although usually often rarely always never quickly carefully roughly exactly directly
""".split()

PROMPT_OPENERS = (
    "Can you explain", "How do I", "What is the best way to", "Write a short", "Why does",
    "Summarize", "Compare", "Help me understand", "Give me three ideas for", "Is it safe to",
)  # fmt: skip


class TextMaker:
    """Deterministic text: the same seed always gives the same file and the same database."""

    def __init__(self, seed: int = 0, sentences: int = 4000):
        self.rng = random.Random(seed)
        self.sentences = [self._sentence() for _ in range(sentences)]

    def _sentence(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(6, 22))
        return " ".join(words).capitalize() + self.rng.choice(".....?!")

    def paragraph(self, low: int, high: int) -> str:
        """Text of ``low`` to ``high`` characters, whole sentences cut at the target length."""
        target = self.rng.randint(low, high)
        parts, length = [], 0
        while length < target:
            sentence = self.rng.choice(self.sentences)
            parts.append(sentence)
            length += len(sentence) + 1
        return " ".join(parts)[:target].rstrip()

    def question(self) -> str:
        return f"{self.rng.choice(PROMPT_OPENERS)} {self.paragraph(30, 260).lower()}?"

    def conversation(self, multi_turn_share: float = 0.3) -> list[dict]:
        """A prompt as messages ending in a user turn; some are multi-turn chats."""
        if self.rng.random() >= multi_turn_share:
            return [{"role": "user", "content": self.question()}]
        messages = []
        if self.rng.random() < 0.3:
            messages.append({"role": "system", "content": self.paragraph(60, 200)})
        for _ in range(self.rng.randint(1, 2)):
            messages.append({"role": "user", "content": self.question()})
            messages.append({"role": "assistant", "content": self.paragraph(150, 600)})
        messages.append({"role": "user", "content": self.question()})
        return messages

    def responses(self, k: int, low: int = 300, high: int = 800) -> list[str]:
        """K different responses (an import rejects a row whose responses are identical)."""
        texts: list[str] = []
        while len(texts) < k:
            text = self.paragraph(low, high)
            if text.strip() not in {t.strip() for t in texts}:
                texts.append(text)
        return texts


def hh_transcript(messages: list[dict]) -> str | None:
    """The conversation as an Anthropic HH-RLHF string, or None when it has a system turn."""
    if any(message["role"] == "system" for message in messages):
        return None
    speaker = {"user": "Human", "assistant": "Assistant"}
    turns = "".join(f"\n\n{speaker[m['role']]}: {m['content']}" for m in messages)
    return turns + "\n\nAssistant:"
