"""Screenshots of the web console's main pages, for docs/console.md.

Builds a small workspace in a temporary home (or uses ``--home`` with ``--key``, e.g.
the demo's ``baryon-demo`` and its ``demo_api_key``), serves it with ``baryon serve``
on a free loopback port, signs in with Playwright driving Debian's Chromium
(``/usr/bin/chromium``) and writes one PNG per page into ``docs/console/``::

    .venv/bin/python scripts/console_screenshots.py            # small seeded workspace
    .venv/bin/python scripts/console_screenshots.py --home baryon-demo \\
        --key "$(cat baryon-demo/demo_api_key)"

The seeded workspace is organization ``demo`` on plan ``pro`` with the bundled
Concrete compressive strength data (Yeh 1998, CC BY 4.0; see
baryon/solutions/NOTICE.md), two models trained on it (the second promoted through
the gate) and a week of metered use.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def seed(home: Path) -> str:
    """Make the small demo workspace in ``home``; return an admin key of ``demo``."""
    from baryon.commerce.metering import record_usage, reserve_quota
    from baryon.commerce.orgs import active_subscription, create_org
    from baryon.core.clock import FixedClock, SystemClock
    from baryon.core.config import Settings
    from baryon.core.scope import SYSTEM
    from baryon.solutions.bundled import bundled_path
    from baryon.tenancy.keys import create_key
    from baryon.training.trainer import Trainer
    from baryon.workspace import Workspace

    ws = Workspace.open(Settings(home=home))
    now = SystemClock().now()
    try:
        with ws.db.session(SYSTEM) as s:  # subscribed a week ago: a week of use to show
            org = create_org(s, name="demo", plan="pro", clock=FixedClock(now - timedelta(days=7)))
            admin = create_key(s, org_id=org.id, role="admin", name="console admin")
            create_key(s, org_id=org.id, role="viewer", name="dashboard viewer")
        demo = ws.for_org("demo")
        demo.datasets.ingest(
            bundled_path("concrete", "concrete.csv"), name="concrete", roles={"id": "id"}
        )
        demo.datasets.split("concrete", strategy="random", seed=42)
        trainer = Trainer(demo, actor=f"key:{admin.key.id}")
        target = "compressive_strength_mpa"
        model = "concrete-strength"
        trainer.train("linear_regression_gd", "concrete", target=target, register=model)
        trainer.train("decision_tree", "concrete", target=target, params={"max_depth": 6})
        trainer.train("gradient_boosting", "concrete", target=target, register=model)
        demo.promotion.promote(model, 2, actor=f"key:{admin.key.id}")
        with ws.db.session(SYSTEM) as s:
            sub = active_subscription(s, org.id)
            assert sub is not None
            for day in range(7):
                at = FixedClock(now - timedelta(days=6 - day))
                for units in (40 + 15 * day, 25 + 5 * (day % 3)):
                    reserve_quota(s, sub, units=units, now=at.now())
                    record_usage(
                        s, org_id=org.id, key_id=admin.key.id,
                        endpoint="/v1/models/{name}/predict", units=units, status=200,
                        latency_ms=3.0, period_start=at.now(), clock=at,
                    )  # fmt: skip
        _seed_solutions(ws, org.id, FixedClock(now))
        return admin.secret
    finally:
        ws.close()


def _seed_solutions(ws: object, org_id: str, clock: object) -> None:
    """What the labeling, support, sentiment, recommender and iterations pages show."""
    import pandas as pd

    from baryon.core.ids import new_id
    from baryon.core.scope import SYSTEM, Scope
    from baryon.flywheel.iterations import add_item, create_iteration
    from baryon.labeling.queue import enqueue, get_queue
    from baryon.labeling.service import create_queue
    from baryon.solutions.recommender.service import WineCatalogue
    from baryon.solutions.sentiment.tables import (
        SentimentAlertRow,
        SentimentItemRow,
        SentimentItemTickerRow,
    )
    from baryon.solutions.support.tables import SupportHandoffRow
    from baryon.tenancy.users import create_user
    from baryon.training.trainer import Trainer

    now = clock.now()  # type: ignore[attr-defined]
    db = ws.db  # type: ignore[attr-defined]
    texts = [
        "my card has not arrived yet", "how do I close my account?",
        "the exchange rate looks wrong", "can I pay in bitcoin?", "refund not received",
    ]  # fmt: skip
    with db.session(Scope.own(org_id, "demo")) as s:
        classes = ["card_arrival", "close_account", "exchange_rate", "refund", "other"]
        create_queue(s, org_id=org_id, name="support-intent", model_name="support-intent",
                     classes=classes, instructions="Pick the customer's intent.", actor="seed",
                     clock=clock)  # fmt: skip
        queue = get_queue(s, "support-intent")
        for i, text in enumerate(texts):
            enqueue(s, queue, input={"text": text}, source="support", reason="low_confidence",
                    clock=clock, priority=1.0 - i / 10, suggested_label="card_arrival",
                    confidence=0.35)  # fmt: skip
        create_iteration(s, org_id=org_id, name="sprint-1", ends_at=now + timedelta(days=10),
                         starts_at=now - timedelta(days=4), actor="seed", clock=clock)  # fmt: skip
        for title, state in (("Label 200 support hand-offs", "doing"),
                             ("Retrain concrete-strength on new batches", "todo"),
                             ("Review the gate's minimum gain", "done")):  # fmt: skip
            add_item(s, "sprint-1", kind="task", title=title, state=state, actor="seed",
                     clock=clock)  # fmt: skip
    with db.session(SYSTEM) as s:
        create_user(s, org_id=org_id, email="ann@example.com", role="annotator", clock=clock)
        create_user(s, org_id=org_id, email="dev@example.com", role="developer", clock=clock)
        for i, text in enumerate(texts):
            s.add(SupportHandoffRow(
                prediction_id=f"pred_{i:026d}", org_id=org_id, conversation_id=f"c{i}",
                model_name="support-intent", model_version=1, intent="card_arrival",
                confidence=0.35 + i / 20, reason="low_confidence", text=text, text_hash=None,
                status="open", created_at=now - timedelta(minutes=30 - i),
            ))  # fmt: skip
        labels = ["Bullish", "Bullish", "Bearish", "Neutral", "Bullish", "Bearish", "Bullish"]
        for i in range(140):
            pk = new_id("item")
            label = labels[(i * 3 + i // 20) % 7]
            s.add(SentimentItemRow(
                id=pk, org_id=org_id, item_id=f"n{i}", received_at=now,
                published_at=now - timedelta(minutes=20 * i), source="wire",
                text=f"$ACME story {i}", tickers=["ACME"], label=label,
                probabilities={label: 0.9}, sentiment_version=1,
            ))  # fmt: skip
            s.flush()
            s.add(SentimentItemTickerRow(item_pk=pk, ticker="ACME"))
        s.add(SentimentAlertRow(
            id=new_id("alert"), org_id=org_id, rule="acme-index-swing", kind="index_change",
            ticker="ACME", window="1h", state="fired", value=0.45, threshold=0.3,
            fired_at=now - timedelta(minutes=40), item_ids=["n1", "n2"], item_count=2,
        ))  # fmt: skip
    wines = WineCatalogue.bundled().ids[:12]
    rows = [(f"u{u}", wines[(u + k) % 12], float(5 - (k % 3) if u % 2 else 2 + (k % 4)))
            for u in range(1, 7) for k in range(7)]  # fmt: skip
    path = ws.settings.home / "ratings.csv"  # type: ignore[attr-defined]
    pd.DataFrame(rows, columns=["user", "item", "rating"]).to_csv(path, index=False)
    demo = ws.for_org("demo")  # type: ignore[attr-defined]
    demo.datasets.ingest(path, name="ratings",
                         roles={"user": "user", "item": "item", "rating": "rating"})  # fmt: skip
    demo.datasets.split("ratings", strategy="per_user", seed=3)
    Trainer(demo).train("itemknn_cosine", "ratings", register="recommender")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shoot(base: str, key: str, out: Path) -> list[Path]:
    """Sign in at ``base`` with ``key`` and write one PNG per page into ``out``."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 900})
        page.goto("/console/login")
        page.screenshot(path=str(out / "login.png"))
        written.append(out / "login.png")
        page.fill("#api_key", key)
        page.click("#sign-in")
        page.wait_for_url("**/console/")
        shots = [("overview", "/console/"), ("runs", "/console/runs"),
                 ("models", "/console/models"), ("datasets", "/console/datasets"),
                 ("usage", "/console/usage?group_by=day"), ("keys", "/console/keys"),
                 ("users", "/console/users"), ("labeling", "/console/labeling"),
                 ("annotate", "/console/labeling/support-intent/annotate"),
                 ("support", "/console/support"), ("handoff", f"/console/support/pred_{0:026d}"),
                 ("sentiment", "/console/sentiment?ticker=ACME"),
                 ("recommender", "/console/recommender?user_id=u3"),
                 ("iteration", "/console/iterations/sprint-1")]  # fmt: skip
        for name, path in shots:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            written.append(out / f"{name}.png")
            if name == "runs":
                boxes = page.locator('input[name="ids"]')
                for i in range(min(3, boxes.count())):
                    boxes.nth(i).check()
                page.click("#compare")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / "compare.png"), full_page=True)
                written.append(out / "compare.png")
                page.goto("/console/runs")
                page.locator("table a code").last.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / "run.png"), full_page=True)
                written.append(out / "run.png")
            if name == "models":
                page.locator("table a").first.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / "model.png"), full_page=True)
                written.append(out / "model.png")
            if name == "datasets":
                page.locator("table a").first.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / "dataset.png"), full_page=True)
                written.append(out / "dataset.png")
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Seed (or use) a home, serve it, take the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an existing home (default: a new one)")
    parser.add_argument("--key", help="an API key of that home (with --home)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    args = parser.parse_args(argv)
    scratch = None
    if args.home is None:
        scratch = Path(tempfile.mkdtemp(prefix="baryon-shots-"))
        home = scratch / "home"
        home.mkdir()
        key = seed(home)
    elif args.key:
        home, key = args.home, args.key
    else:
        parser.error("--home needs --key")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARYON_")}
    server = subprocess.Popen(  # noqa: S603 (this interpreter, our own arguments)
        [sys.executable, "-m", "baryon", "--home", str(home), "serve", "--port", str(port),
         "--log-level", "warning"], env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        for path in shoot(base, key, args.out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
