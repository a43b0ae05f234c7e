"""The stylesheet's colours pass WCAG AA: 4.5:1 for text on the backgrounds it sits on.

Read from static/css/preflab.css itself, so a colour changed there is checked here."""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[1] / "static/css/preflab.css").read_text()


def _six_digits(colour: str) -> str:
    return "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour


ROOT = CSS[CSS.index(":root {") : CSS.index("}", CSS.index(":root {"))]
TOKENS = {
    name: _six_digits(value)
    for name, value in re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", ROOT)
}


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("text", ["fg", "muted", "accent", "accent-strong", "warn", "error", "ok"])
@pytest.mark.parametrize("background", ["card", "bg"])
def test_text_tokens_read_on_cards_and_on_the_page(text, background):
    assert contrast(TOKENS[text], TOKENS[background]) >= 4.5


def _rule_colours(selector: str) -> tuple[str, str]:
    """The background and text colour of a one-line rule, tokens resolved."""
    body = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", CSS).group(1)
    values = dict(re.findall(r"(background|color):\s*([^;]+);", body))
    resolved = [
        TOKENS[value[6:-1]] if value.startswith("var(") else _six_digits(value.strip())
        for value in (values["background"], values["color"])
    ]
    return resolved[0], resolved[1]


@pytest.mark.parametrize(
    "selector",
    [".badge.running", ".badge.succeeded", ".badge.failed", ".badge.role-manager",
     ".badge.role-engineer", ".badge.role-reviewer", ".badge.role-annotator",
     ".badge.queued, .badge.cancelled"],
)  # fmt: skip
def test_state_and_role_badges_read(selector):
    background, text = _rule_colours(selector)
    assert contrast(text, background) >= 4.5
