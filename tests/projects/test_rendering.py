from html.parser import HTMLParser

import pytest

from projects.rendering import render_markdown


class _LiveMarkup(HTMLParser):
    """Collects the elements and attributes a browser would actually create."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def live(html: str) -> _LiveMarkup:
    parser = _LiveMarkup()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=//evil></iframe>",
        '<svg onload="alert(1)"></svg>',
        "![x](javascript:alert(1))",
    ],
)
def test_user_markup_never_becomes_live_html(attack):
    markup = live(str(render_markdown(attack)))
    assert not {"script", "iframe", "svg"} & set(markup.tags)
    assert not [name for name, _ in markup.attributes if name.startswith("on")]
    assert not [
        value for _, value in markup.attributes if value.strip().lower().startswith("javascript")
    ]


def test_markdown_features_survive_sanitizing():
    html = str(render_markdown("**bold** and `code`\n\n```python\nprint('hi')\n```\n\n- a\n- b"))
    assert "<strong>bold</strong>" in html
    assert '<pre><code class="language-python">' in html
    assert "<li>a</li>" in html


def test_links_get_safe_rel():
    html = str(render_markdown("[docs](https://example.org)"))
    assert 'href="https://example.org"' in html and "noopener" in html


def test_images_are_dropped(db):
    markup = live(
        str(render_markdown("![pixel](https://tracker.example/p.gif) ![x](/p/demo/annotate/next/)"))
    )
    assert "img" not in markup.tags
