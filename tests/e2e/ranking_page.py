"""The ranking page as the browser tests drive it: what is on screen, keys, and its swaps."""

from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

# The page has settled after a submit or skip of assignment `sent` once the POST's answer
# is in place: another item (or the empty-queue card) is on screen, and unless the queue
# ran dry, a further item waits in #prefetch.
SETTLED_JS = """(sent) => {
  const shown = document.querySelector('#current form.item');
  if (!shown) return !!document.querySelector('#current [data-empty]');
  if (shown.dataset.assignment === String(sent)) return false;
  const next = document.querySelector('#prefetch > *');
  return !!next && (next.matches('[data-empty]') || next.dataset.assignment !== shown.dataset.assignment);
}"""


@dataclass(frozen=True)
class RankingPage:
    page: Page

    @property
    def form(self) -> Locator:
        return self.page.locator("#current form.item")

    @property
    def summary(self) -> Locator:
        return self.form.locator("[data-summary]")

    @property
    def error(self) -> Locator:
        return self.form.locator("[data-error]")

    def ready(self) -> None:
        """Wait until annotate.js has activated the item on screen (it marks a focused card)."""
        expect(self.form.locator("article.response.focused")).to_have_count(1)

    def assignment_id(self) -> int:
        return int(self.form.get_attribute("data-assignment"))

    def response_ids(self) -> dict[str, int]:
        """Letter on screen -> response id, in the order shown (A first)."""
        pairs = self.form.locator("article.response").evaluate_all(
            "cards => cards.map(c => [c.dataset.letter, Number(c.dataset.response)])"
        )
        return dict(pairs)

    def card(self, letter: str) -> Locator:
        return self.form.locator(f'article.response[data-letter="{letter}"]')

    def chip(self, response_id: int) -> Locator:
        return self.form.locator(f'[data-chip="{response_id}"]')

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def send(self, key: str = "Enter", kind: str = "submit") -> int:
        """Press Enter (submit) or S (skip) and wait until the POST is stored and the page settled.

        Returns the id of the assignment that was sent.
        """
        sent = self.assignment_id()
        suffix = f"/{sent}/{kind}/"
        with self.page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith(suffix)
        ) as answer:
            self.page.keyboard.press(key)
        assert answer.value.ok, f"{kind} of assignment {sent}: HTTP {answer.value.status}"
        self.settled(sent)
        return sent

    def settled(self, sent: int) -> None:
        """Wait until the answer to sending assignment ``sent`` is in place."""
        self.page.wait_for_function(SETTLED_JS, arg=sent)
