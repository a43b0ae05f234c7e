"""Charts in a browser: uPlot draws a run's curves from their specs, without script errors or
CSP refusals; hovering shows values in the legend; the smoothing slider is shared by the
run's curves; and the data stays readable, as a table, with JavaScript off."""

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from common.jobs import JobState
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs.models import RunMetric, TrainingRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CURVES = ("Training loss", "Training pair accuracy", "Learning rate")
SMOOTHABLE = CURVES[:2]


def finished_reward_run():
    """A reward run with 40 noisy steps of loss, accuracy and learning rate, and an eval."""
    project, snapshot, engineer = project_with_listwise_snapshot()
    run = TrainingRun.objects.create(
        project=project, kind="reward", snapshot=snapshot, state=JobState.SUCCEEDED,
        summary={"eval": {"pairwise_accuracy": 0.8, "n_pairs": 10, "ece": 0.25,
                          "calibration": [{"predicted": 0.6, "observed": 0.8, "pairs": 5}],
                          "margin_histogram": [{"from": 0, "to": 0.5, "count": 8}]}},
    )  # fmt: skip
    for step in range(1, 41):
        values = {"loss": 0.7 - step / 100 + (step % 3) / 50, "accuracy": 0.5 + step / 100,
                  "lr": 1e-5}  # fmt: skip
        RunMetric.objects.create(run=run, step=step, values=values)
    return project, run, engineer


def test_the_run_page_draws_its_curves_with_uplot_and_shows_values_on_hover(
    page: Page, live_server, log_in, page_errors
):
    # given a finished reward run
    project, run, engineer = finished_reward_run()
    log_in(engineer.username)

    # when the engineer opens its page
    page.goto(f"{live_server.url}/p/{project.slug}/runs/{run.pk}/")

    # then each curve is a uPlot canvas inside a labelled image, under its title
    curves = page.locator("#run-curves figure.chart")
    expect(curves.locator("figcaption")).to_have_text(list(CURVES))
    expect(curves.locator(".chart-plot canvas")).to_have_count(len(CURVES))
    plot = curves.first.locator(".chart-plot")
    expect(plot).to_have_attribute("role", "img")
    expect(plot).to_have_attribute(
        "aria-label", "Training loss: loss (nats per pair) by training step"
    )
    box = plot.locator("canvas").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 150, box
    # and the evaluation's calibration and margin bars are drawn too
    expect(page.locator("#run-evaluation .chart-plot canvas")).to_have_count(2)

    # when the pointer rests on the loss chart
    plot.locator(".u-over").hover(position={"x": 120, "y": 40})

    # then the legend shows the step and the loss there
    legend = plot.locator(".u-legend")
    expect(legend.locator(".u-series").first).to_contain_text(re.compile(r"training step\s*\d+"))
    expect(legend.locator(".u-series", has_text="loss (raw)").locator(".u-value")).to_have_text(
        re.compile(r"^\d\.\d{3}$")
    )

    # when the smoothing of one curve is set, then every measured curve of the run follows it
    # (the learning rate is a schedule the run sets: it is drawn as it is, with no slider)
    sliders = curves.locator(".chart-smooth input[type=range]")
    expect(sliders).to_have_count(len(SMOOTHABLE))
    sliders.first.fill("0.9")
    expect(curves.locator(".chart-smooth output")).to_have_text(["0.90"] * len(SMOOTHABLE))
    learning_rate = curves.filter(has=page.locator("figcaption", has_text="Learning rate"))
    expect(learning_rate.locator(".chart-smooth")).to_have_count(0)
    expect(learning_rate.locator(".u-legend .u-series", has_text="(raw)")).to_have_count(0)

    # and the data tables are folded away, one click from view, with no page error
    expect(page.locator("#run-curves details.chart-data[open]")).to_have_count(0)
    assert page_errors == []


def test_a_zoom_outlives_the_swap_that_redraws_the_charts_and_a_double_click_forgets_it(
    page: Page, live_server, log_in, page_errors
):
    # given the page of a reward run, its loss chart zoomed by dragging across it
    project, run, engineer = finished_reward_run()
    log_in(engineer.username)
    page.goto(f"{live_server.url}/p/{project.slug}/runs/{run.pk}/")
    loss = page.locator("#run-curves figure.chart").first
    over = loss.locator(".u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 30, steps=5)
    page.mouse.up()
    expect(loss).to_have_attribute("data-zoom", re.compile(r"^[\d.]+ [\d.]+$"))
    zoom = loss.get_attribute("data-zoom")

    # when the curves are swapped for the server's fresh copy, as a training run's page does
    page.evaluate(
        """async () => {
            const html = await (await fetch(location.href)).text();
            const fresh = new DOMParser().parseFromString(html, "text/html")
                .querySelector("#run-curves");
            const old = document.querySelector("#run-curves");
            old.replaceWith(fresh);
            fresh.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true }));
        }"""
    )

    # then the redrawn chart shows the same window
    loss = page.locator("#run-curves figure.chart").first
    expect(loss.locator(".chart-plot canvas")).to_have_count(1)
    expect(loss).to_have_attribute("data-zoom", zoom)

    # and a double-click shows the whole run again, and forgets the zoom
    loss.locator(".u-over").dblclick()
    expect(loss).not_to_have_attribute("data-zoom", re.compile(".*"))
    assert page_errors == []


def test_without_javascript_the_chart_data_is_a_table_or_a_summary(
    browser: Browser, live_server, page: Page, log_in
):
    # given a finished reward run, and an engineer's session
    project, run, engineer = finished_reward_run()
    log_in(engineer.username)
    url = f"{live_server.url}/p/{project.slug}/runs/{run.pk}/"

    # when the page is read with JavaScript off
    plain = browser.new_context(
        java_script_enabled=False, storage_state=page.context.storage_state()
    )
    try:
        offline = plain.new_page()
        offline.goto(url)

        # then no chart is drawn, and each chart's data is open below its title
        expect(offline.locator("canvas")).to_have_count(0)
        margins = offline.locator("figure.chart", has_text="Reward margin")
        expect(margins.locator("details.chart-data[open] table")).to_be_visible()
        expect(margins.locator("tbody tr th, tbody tr td")).to_have_text(["0…0.5", "8"])
        # and the 40-step curves are summarised by their first, last, lowest and highest value
        loss = offline.locator("figure.chart", has_text="Training loss")
        expect(loss.locator("details.chart-data[open] li").first).to_contain_text(
            "loss: 40 points; first 0.710 at training step 1"
        )
    finally:
        plain.close()


def coloured_pixels(chart: Locator) -> int:
    """How many pixels of a chart's canvas are strongly coloured: its series, not the grey
    grid or the dark text."""
    return chart.locator(".chart-plot canvas").evaluate(
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let i = 0; i < data.length; i += 4) {
                const rgb = [data[i], data[i + 1], data[i + 2]];
                if (data[i + 3] > 0 && Math.max(...rgb) - Math.min(...rgb) > 80) count += 1;
            }
            return count;
        }"""
    )


def test_the_compare_page_marks_single_eval_points_and_colours_each_raw_trace_as_its_run(
    page: Page, live_server, log_in, page_errors
):
    # given two finished reward runs, each with one evaluation at its last step
    project, first, engineer = finished_reward_run()
    second = TrainingRun.objects.create(project=project, kind="reward", snapshot=first.snapshot,
                                        state=JobState.SUCCEEDED)  # fmt: skip
    for step in range(1, 41):
        RunMetric.objects.create(run=second, step=step, values={"loss": 0.9 - step / 80})
    for run, eval_loss in ((first, 0.6), (second, 0.5)):
        RunMetric.objects.create(run=run, step=40, values={"eval_loss": eval_loss})
    log_in(engineer.username)

    # when the engineer compares them
    page.goto(f"{live_server.url}/p/{project.slug}/runs/compare/?run={first.pk}&run={second.pk}")

    # then each run's single evaluation is drawn, as a point marker
    charts = page.locator("figure.chart")
    evaluation = charts.filter(has=page.locator("figcaption", has_text="Eval loss"))
    expect(evaluation.locator(".chart-plot canvas")).to_have_count(1)
    assert coloured_pixels(evaluation) > 40

    # and each run's raw trace is a faint version of its own colour, not one shared grey
    loss = charts.filter(has=page.locator("figcaption", has_text="Training loss"))
    legend = loss.locator(".u-legend")
    for run in (first, second):
        name = f"run {run.pk} {run.name}".strip()
        line, raw = (
            legend.locator(".u-series").filter(has=page.get_by_text(label, exact=True))
            .locator(".u-marker") for label in (name, f"{name} (raw)")
        )  # fmt: skip
        colour = line.evaluate("e => getComputedStyle(e).borderColor")
        faint = raw.evaluate("e => getComputedStyle(e).borderColor")
        own = "rgba(" + colour.removeprefix("rgb(").removesuffix(")")
        assert faint.startswith(own), (colour, faint)
    assert page_errors == []
