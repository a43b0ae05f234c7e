"""Phones: a table wider than the screen scrolls inside its card and shows a shadow on
each edge that has more columns beyond it, so nobody misses the columns off screen."""

import struct
import zlib

import pytest
from playwright.sync_api import Page

from projects.labels.services import tag_label_save
from tests.factories import make_project
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import TrainingRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _png_pixels(png: bytes) -> list[list[tuple[int, ...]]]:
    """Rows of RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    chunks, at = {}, 8
    while at < len(png):
        (size,), kind = struct.unpack(">I", png[at : at + 4]), png[at + 4 : at + 8]
        chunks[kind] = chunks.get(kind, b"") + png[at + 8 : at + 8 + size]
        at += 12 + size
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour in (2, 6)
    step = 3 if colour == 2 else 4
    data, rows, prior = zlib.decompress(chunks[b"IDAT"]), [], bytearray(width * step)
    for y in range(height):
        start = y * (width * step + 1)
        kind, raw = data[start], bytearray(data[start + 1 : start + 1 + width * step])
        for i in range(len(raw)):
            a = raw[i - step] if i >= step else 0
            b, c = prior[i], prior[i - step] if i >= step else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            raw[i] = (raw[i] + (0, a, b, (a + b) // 2, paeth)[kind]) & 0xFF
        rows.append([tuple(raw[x * step : x * step + 3]) for x in range(width)])
        prior = raw
    return rows


def _brightest_at(page: Page, box: dict, x: float, width: int = 2) -> int:
    """The brightest channel value in a strip of the table at x, top to bottom: white
    (255) somewhere unless a shade lies over the whole strip."""
    clip = {"x": x, "y": box["y"] + 2, "width": width, "height": box["height"] - 4}
    rows = _png_pixels(page.screenshot(clip=clip, full_page=True))
    return max(min(pixel) for row in rows for pixel in row)


def test_a_wide_table_on_a_phone_shows_that_more_columns_lie_beyond(page, live_server, log_in):
    # given a manager's tag set with long descriptions: wider than a phone
    project = make_project(slug="narrow")
    for name, hotkey in (("factual error", "f"), ("unsafe", "x"), ("good reasoning", "o")):
        tag_label_save(project=project, name=name, hotkey=hotkey,
                       description="A description long enough to need a wide column " * 2)  # fmt: skip
    page.set_viewport_size(PHONE)
    log_in(project.created_by.username)
    # when the labels page opens on a 390 px screen
    page.goto(f"{live_server.url}/p/{project.slug}/labels/")
    table = page.locator("table.table").first
    assert table.evaluate("t => t.scrollWidth > t.clientWidth + 20")  # it does scroll
    box = table.bounding_box()
    left, right = box["x"] + 1, box["x"] + box["width"] - 3
    # then the right edge is shaded (more columns) and the left edge is not
    assert _brightest_at(page, box, right) < 240
    assert _brightest_at(page, box, left) >= 250
    # and once scrolled to the end, the shade moves to the left edge
    table.evaluate("t => { t.scrollLeft = t.scrollWidth; }")
    page.wait_for_timeout(100)
    assert _brightest_at(page, box, right) >= 250
    assert _brightest_at(page, box, left) < 240


def test_a_table_that_fits_shows_no_shade_not_even_a_hairline(page, live_server, log_in):
    # given a run whose options table fits its card on a desktop
    project, snapshot, engineer = project_with_listwise_snapshot(6)
    run = TrainingRun.objects.create(project=project, kind="reward", snapshot=snapshot,
                                     hyperparameters={"lr": 1e-5, "loss": "kwise"})  # fmt: skip
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(engineer.username)
    # when the run page opens
    page.goto(f"{live_server.url}/p/{project.slug}/runs/{run.pk}/")
    holder = page.locator("#run-options").locator("xpath=..")
    assert holder.evaluate("e => e.scrollWidth <= e.clientWidth")
    # then neither edge of its scrolling holder is shaded, to the last pixel
    box = holder.bounding_box()
    for x in (box["x"], box["x"] + box["width"] - 1):
        assert _brightest_at(page, box, x, width=1) >= 250
