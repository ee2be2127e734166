"""The dashboard's actions in headless Chromium against `azcops demo`: bulk approve on the
Recommendations list (audit rows on the detail pages), "Run now" on the Ingestion view (Admins
only), the overview's month-end forecast and budget against the API's answers, and axe-core on
the views these change. Runs after test_dashboard.py (it changes the demo's data)."""

import json
import urllib.request

SERIOUS = {"serious", "critical"}


def value(page, testid: str) -> float:
    return float(page.locator(f"[data-testid={testid}]").first.get_attribute("data-value"))


def axe_failures(session, axe_source, path: str | None = None) -> list[str]:
    if path is not None:
        session.goto(path)
    page = session.page
    page.wait_for_load_state("load")
    page.add_script_tag(path=axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{path or page.url}: {v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


def test_bulk_approve_changes_the_ticked_rows_and_audits_each(sign_in, axe_source):
    reader = sign_in("t0-reader")
    reader.goto("/recommendations?status=open")
    assert reader.page.locator("[data-testid=select]").count() == 0, "no checkboxes for a Reader"
    assert reader.page.locator("form#bulk").count() == 0
    forged = reader.page.request.post(
        f"{reader.demo.base}/recommendations/bulk", form={"_csrf": reader.csrf(), "action": "approve", "all": "1"}
    )
    assert forged.status == 403

    session = sign_in("t0-approver", bypass_csp=True)
    session.goto("/recommendations?status=open&sort=savings")
    page = session.page
    boxes = page.locator("[data-testid=select]")
    assert boxes.count() >= 3
    ids = [boxes.nth(i).get_attribute("value") for i in range(2)]
    for i in range(2):
        boxes.nth(i).check()
    page.locator("button[data-bulk=approve]").click()
    page.wait_for_selector("[data-testid=bulk-changed]")
    assert value(page, "bulk-changed") == 2
    assert value(page, "bulk-skipped") == 0
    assert axe_failures(session, axe_source) == []
    for rid in ids:
        session.goto(f"/recommendations/{rid}")
        assert page.locator("[data-testid=status]").inner_text() == "approved"
        assert "recommendation.approved" in page.locator("table[data-testid=audit]").inner_text()
    refused = page.request.post(f"{session.demo.base}/recommendations/bulk", form={"action": "approve", "id": ids[0]})
    assert refused.status == 403, "no CSRF token"
    assert session.csp_violations() == []


def test_run_now_is_offered_to_admins_only_and_shows_the_outcome(sign_in, axe_source):
    approver = sign_in("t0-approver")
    approver.goto("/ingestion")
    assert approver.page.locator("[data-testid=run-now]").count() == 0
    forged = approver.page.request.post(f"{approver.demo.base}/ingestion/run", form={"_csrf": approver.csrf()})
    assert forged.status == 403

    admin = sign_in("t0-admin", bypass_csp=True)
    admin.goto("/ingestion")
    page = admin.page
    page.locator("[data-testid=run-now]").click()
    page.wait_for_selector("[data-testid=run-outcome][data-outcome=started]")
    run_id = page.locator("[data-testid=run-outcome] code").inner_text()
    assert len(run_id) == 36, run_id
    # Again at once: the active run (409) or, if it already finished, the cooldown (429).
    page.locator("[data-testid=run-now]").click()
    page.wait_for_selector("[data-testid=run-outcome][data-outcome=active], [data-testid=run-outcome][data-outcome=cooldown]")
    assert run_id in page.locator("[data-testid=run-outcome]").inner_text()
    assert axe_failures(admin, axe_source) == []


def test_the_overview_forecast_and_budget_equal_the_api(sign_in, demo, axe_source):
    admin_token = demo.api_token(0, ["AzCops.Admin"])
    body = json.dumps({"name": "Browser test", "amount": 1000, "currency": "USD"}).encode()
    request = urllib.request.Request(
        f"{demo.base}/api/v1/budgets", data=body, method="POST",
        headers={"authorization": f"Bearer {admin_token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
    session = sign_in("t0-reader", bypass_csp=True)
    session.goto("/")
    page = session.page
    token = demo.api_token(0, ["AzCops.Reader"])
    forecast = demo.api("/v1/costs/forecast", token)
    for f in (f for f in forecast["forecasts"] if f["subscription_id"] is None):
        end = f["actual"]["month_end"]
        cur = f["currency"]
        assert value(page, f"forecast-{cur}") == end["forecast"]
        assert value(page, f"forecast-lower-{cur}") == end["lower"]
        assert value(page, f"forecast-upper-{cur}") == end["upper"]
    budgets = demo.api("/v1/budgets", token)["items"]
    row = page.locator("table[data-testid=budgets] tbody tr")
    assert row.count() == len(budgets)
    mine = next(b for b in budgets if b["name"] == "Browser test")
    cells = page.locator(f"tr[data-budget='{mine['id']}']")
    assert float(cells.locator("[data-testid=budget-spent]").get_attribute("data-value")) == mine["status"]["spent"]
    if mine["status"]["forecast"] is not None:
        shown = float(cells.locator("[data-testid=budget-forecast]").get_attribute("data-value"))
        assert shown == mine["status"]["forecast"]
    assert axe_failures(session, axe_source) == []
