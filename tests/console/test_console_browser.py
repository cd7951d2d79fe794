"""The console in a real browser: Debian's Chromium driven by Playwright, a real server.

Every page is opened signed in and must render with no console error, no failed
request, no 4xx/5xx response and no serious or critical axe-core violation (axe-core
is injected from ``assets/axe.min.js``). The forms work end to end; a viewer sees no
admin action and the server refuses it; logging out ends the session; a form posted
without its CSRF token is 403; stored ``<script>`` text renders as text.

Chromium comes from Debian (``apt-get install chromium``, done by ``.ci/run``):
Playwright cannot download its own browser here. Without ``/usr/bin/chromium`` these
tests skip on a developer's machine and fail in CI (``CI`` set).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from consolekit import REVIEW_TEXTS, Tenants, seed_home
from serverkit import free_port, start_server, stop_server, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Tenants]]:
    """A ``baryon serve`` on loopback over a seeded home: (base URL, tenants)."""
    home = tmp_path_factory.mktemp("console-browser") / "home"
    home.mkdir()
    tenants = seed_home(home)
    port = free_port()
    proc = start_server(home, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base, tenants
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (skip without it, except in CI: fail)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watch:
    """What went wrong in a page: console errors, failed requests, error responses."""

    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected_status: set[int] = field(default_factory=set)

    def attach(self, page: Any) -> None:
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status}: {r.url}")
                if r.status >= 400 and r.status not in self.expected_status
                else None
            ),
        )

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            if dialog.type == "confirm":
                dialog.accept()
            else:
                dialog.dismiss()

        page.on("dialog", on_dialog)

    def _failed(self, request: Any) -> None:
        # The browser's own icon fetch is aborted when the next navigation starts.
        if request.url.endswith("/favicon.svg") and "ERR_ABORTED" in str(request.failure):
            return
        self.problems.append(f"failed: {request.url} {request.failure}")


@pytest.fixture
def open_as(site: tuple[str, Tenants], browser: Any) -> Iterator[Any]:
    """``open_as("acme:admin")`` → (page, watch), signed in through the login form."""
    base, tenants = site
    contexts: list[Any] = []

    def make(who: str) -> tuple[Any, Watch]:
        context = browser.new_context(base_url=base)
        contexts.append(context)
        page = context.new_page()
        watch = Watch()
        watch.attach(page)
        page.goto("/console/login")
        page.fill("#api_key", tenants.keys[who])
        page.click("#sign-in")
        page.wait_for_url(re.compile(r".*/console/$"))
        return page, watch

    yield make
    for context in contexts:
        context.close()


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page (rule id and first target)."""
    page.evaluate(AXE)  # through DevTools: not subject to the page's CSP
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target'] if v['nodes'] else ''}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


def _visit(page: Any, watch: Watch, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert watch.problems == [], (path, watch.problems)
    assert axe_violations(page) == [], path
    for chart in page.locator("[data-chart]").all():
        assert chart.locator("canvas").count() == 1, (path, "chart not drawn")


def test_every_page_renders_clean_and_accessible(open_as: Any, site: Any) -> None:
    page, watch = open_as("acme:admin")
    _visit(page, watch, "/console/")
    assert "of 1,000 units" in page.locator("#quota-used").inner_text()
    _visit(page, watch, "/console/runs")
    runs = page.locator('input[name="ids"]')
    assert runs.count() == 3  # the recommender's, then the MLP and the stump of points
    runs.nth(1).check()
    runs.nth(2).check()
    page.click("#compare")
    page.wait_for_url(re.compile(r".*/console/runs/compare\?ids=.*"))
    _visit(page, watch, page.url)
    assert page.locator("tr.differs").count() >= 1
    page.goto("/console/runs")
    page.locator("table a code").first.click()
    _visit(page, watch, page.url)
    for path in [
        "/console/models", "/console/models/points", "/console/datasets",
        "/console/datasets/points", "/console/datasets/points?version=1", "/console/usage",
        "/console/usage?group_by=day", "/console/keys", "/console/users", "/console/invoices",
        "/console/labeling", "/console/labeling/triage", "/console/labeling/triage/annotate",
        "/console/support", f"/console/support/pred_{0:026d}", "/console/sentiment",
        "/console/sentiment?ticker=ACME&window=1d", "/console/recommender",
        "/console/recommender?user_id=u3", "/console/iterations", "/console/iterations/sprint-1",
    ]:  # fmt: skip
        _visit(page, watch, path)
    assert "acme-swing" in page.goto("/console/sentiment").text()
    page.goto("/console/recommender?user_id=u3")
    assert "similarity" in page.locator("#recommendations").inner_text()
    _visit(page, watch, "/console/login")  # a signed-in browser goes to the overview
    assert page.url.endswith("/console/")


def test_runs_filter_updates_the_table_in_place(open_as: Any) -> None:
    page, watch = open_as("acme:developer")
    page.goto("/console/runs")
    page.select_option("#f-status", "failed")
    page.click("text=Filter")
    page.wait_for_url(re.compile(r".*status=failed.*"))
    assert page.locator("#runs").inner_text().count("No runs match these filters") == 1
    assert watch.problems == []


def test_forms_work_end_to_end(open_as: Any, tmp_path: Path) -> None:
    page, watch = open_as("acme:admin")
    # upload a dataset
    data = tmp_path / "tickets.csv"
    rows = "".join(f"my card {i} is lost,card\nwhere is my money {i},transfer\n" for i in range(10))
    data.write_text("text,topic\n" + rows)
    page.goto("/console/datasets")
    page.fill("#upload-name", "tickets")
    page.fill("#upload-label", "topic")
    page.set_input_files("#upload-file", str(data))
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r".*/console/datasets/tickets\?version=1&created=yes"))
    assert "version 1 is new" in page.inner_text("main")
    assert page.locator("td", has_text="label").count() >= 1
    assert page.locator("#train-form").count() == 0  # no split yet
    # split it, then the training form is there
    page.select_option("#split-strategy", "stratified")
    page.click("#split-submit")
    page.wait_for_url(re.compile(r".*/console/datasets/tickets\?version=2&created=split"))
    assert page.locator("#train-form").count() == 1
    # promote the challenger through the gate, then roll back
    page.goto("/console/models/points")
    page.select_option("#promote-version", "2")
    page.fill("#promote-reason", "the MLP beats the stump")
    page.click("#promote")
    page.wait_for_url(re.compile(r".*/console/models/points\?done=promoted"))
    assert "champion → v2" in page.inner_text("main")
    page.click("#rollback")
    page.wait_for_url(re.compile(r".*done=rolled_back"))
    assert "champion → v1" in page.inner_text("main")
    assert watch.dialogs == ["confirm: Move the champion back to the version that held it before?"]
    # create a key (secret shown once), then revoke it
    page.goto("/console/keys")
    page.fill("#key-name", "browser made")
    page.select_option("#key-role", "viewer")
    page.click("#create-key-submit")
    secret = page.input_value("#new-secret")
    assert re.fullmatch(r"bry_[A-Za-z0-9_-]{43}", secret)
    page.goto("/console/keys")
    assert secret not in page.content()
    row = page.locator("tr", has_text="browser made")
    row.locator("button", has_text="Revoke").click()
    page.wait_for_url(re.compile(r".*/console/keys\?done=revoked"))
    assert "revoked" in page.locator("tr", has_text="browser made").inner_text()
    # start a training run from the dataset's page
    page.goto("/console/datasets/points")
    page.select_option("#train-kind", "decision_tree")
    page.click("#train-submit")
    page.wait_for_url(re.compile(r".*/console/runs/run_[0-9a-z]+$"))
    assert "decision_tree" in page.inner_text("main")
    # add a user, then disable them
    page.goto("/console/users")
    page.fill("#user-email", "bea@example.com")
    page.select_option("#user-role", "annotator")
    page.click("#create-user-submit")
    page.wait_for_url(re.compile(r".*/console/users\?done=created"))
    page.locator("tr", has_text="bea@example.com").locator("button").click()
    page.wait_for_url(re.compile(r".*/console/users\?done=disabled"))
    assert "disabled" in page.locator("tr", has_text="bea@example.com").inner_text()
    # answer and close a hand-off, then send the other to labeling
    page.goto(f"/console/support/pred_{0:026d}")
    page.fill("#answer-text", "It ships today.")
    page.check("#answer-close")
    page.click("#answer-submit")
    page.wait_for_url(re.compile(r".*done=closed"))
    assert "It ships today." in page.inner_text("#handoff-answer")
    page.goto(f"/console/support/pred_{1:026d}")
    page.click("#send-to-labeling")
    page.wait_for_url(re.compile(r".*done=labeling"))
    assert "In labeling as" in page.inner_text("main")
    # move an item across the board
    page.goto("/console/iterations/sprint-1")
    card = page.locator("article.card", has_text="Label the review queue")
    card.locator("select").select_option("done")
    card.locator("button").click()
    page.wait_for_url(re.compile(r".*done=moved"))
    assert "Label the review queue" in page.inner_text("section[aria-labelledby='col-done']")
    assert watch.problems == []


def test_label_three_tasks_with_the_keyboard(open_as: Any) -> None:
    page, watch = open_as("acme:annotator")
    page.goto("/console/labeling")
    page.click('a[href="/console/labeling/review/annotate"]')
    labeled = []
    for _ in range(3):
        page.wait_for_selector("#task-text")
        labeled.append(page.inner_text("#task-text"))
        page.keyboard.press("2")  # "up", the second class
        assert page.locator('button[aria-pressed="true"]').inner_text().endswith("up")
        with page.expect_navigation():
            page.keyboard.press("Enter" if len(labeled) % 2 else "n")
        assert "Label saved." in page.inner_text("main")
    assert labeled == list(REVIEW_TEXTS[:3])  # highest priority first
    skipped = page.inner_text("#task-text")
    with page.expect_navigation():
        page.keyboard.press("s")
    assert "Task skipped." in page.inner_text("main")
    assert page.locator("#nothing-to-label").count() == 1
    page.goto("/console/labeling/review?status=done")
    done = page.inner_text("main")
    assert all(text in done for text in REVIEW_TEXTS[:3])
    assert skipped not in done
    assert watch.problems == []


def test_viewer_sees_no_admin_actions_and_the_server_refuses_them(open_as: Any) -> None:
    page, watch = open_as("acme:viewer")
    for hidden in ("keys", "users", "labeling", "support", "sentiment", "recommender"):
        assert page.locator(f'nav a[href="/console/{hidden}"]').count() == 0, hidden
    page.goto("/console/models/points")
    assert page.locator("#admin-actions").count() == 0
    assert page.locator("#traffic-form").count() == 0
    assert page.locator("#traffic-split").count() == 1  # viewers may read the split
    page.goto("/console/iterations/sprint-1")
    assert page.locator("#add-item-form").count() == 0
    assert page.locator("form.move").count() == 0
    page.goto("/console/datasets")
    assert page.locator("#upload-form").count() == 0
    token = page.locator('input[name="csrf_token"]').first.input_value()
    refused = page.request.post(
        "/console/models/points/promote", form={"version": "2", "csrf_token": token},
        max_redirects=0,
    )  # fmt: skip
    assert refused.status == 403
    assert "error[forbidden]" in refused.text()
    for path, form in (
        ("/console/models/points/traffic", {"challenger_percent": "50"}),
        ("/console/users", {"email": "x@example.com", "role": "viewer"}),
        ("/console/iterations/sprint-1/items", {"title": "forged"}),
    ):
        forged = page.request.post(path, form={**form, "csrf_token": token}, max_redirects=0)
        assert forged.status == 403, path
    keys = page.request.get("/console/keys", max_redirects=0)
    assert keys.status == 403
    assert watch.problems == []


def test_logout_ends_the_session(open_as: Any, browser: Any, site: Any) -> None:
    page, _ = open_as("acme:developer")
    cookies = page.context.cookies()
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/console/login$"))
    page.goto("/console/runs")
    assert page.url.endswith("/console/login")
    replay = browser.new_context(base_url=site[0])  # the old cookie, in another browser
    replay.add_cookies(cookies)
    other = replay.new_page()
    other.goto("/console/runs")
    assert other.url.endswith("/console/login")
    replay.close()


def test_a_form_posted_without_its_csrf_token_is_403(open_as: Any) -> None:
    page, _ = open_as("acme:admin")
    response = page.request.post("/console/keys", form={"name": "no-csrf", "role": "viewer"})
    assert response.status == 403
    assert "error[csrf_missing]" in response.text()
    page.goto("/console/keys")
    assert "no-csrf" not in page.inner_text("main")


def test_stored_script_text_renders_as_text(open_as: Any, tmp_path: Path) -> None:
    page, watch = open_as("acme:admin")
    watch.expected_status = {422}
    script = "<script>alert(1)</script>"
    page.goto("/console/datasets")
    page.fill("#upload-name", script)
    data = tmp_path / "evil.csv"
    data.write_text(f"id,{script}\n1,<img src=x onerror=alert(2)>\n2,b\n")
    page.set_input_files("#upload-file", str(data))
    page.click("#upload-submit")
    page.wait_for_load_state("networkidle")
    # the name is refused by its rule (the message names the rule, not the value)
    assert "error[invalid_name]" in page.inner_text("main")
    page.fill("#upload-name", "evil")
    page.set_input_files("#upload-file", str(data))
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r".*/console/datasets/evil\?.*"))
    assert script in page.inner_text("main")
    page.goto("/console/keys")
    page.fill("#key-name", script)
    page.click("#create-key-submit")
    page.goto("/console/keys")
    assert script in page.inner_text("main")
    assert page.locator("main script").count() == 0
    assert watch.dialogs == []
