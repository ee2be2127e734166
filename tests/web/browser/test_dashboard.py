"""The dashboard in headless Chromium against `azcops demo`: sign-in as each role through the
sandbox's development issuer, totals equal to the API's, role-gated decisions with CSRF,
tenant isolation, charts read from ECharts' state, and axe-core on every view."""

import datetime
import re

import pytest

IDENTITIES = ["t0-reader", "t0-approver", "t0-admin", "t1-reader", "t2-admin", "platform-admin"]
SERIOUS = {"serious", "critical"}


def value(page, testid: str) -> float:
    return float(page.locator(f"[data-testid={testid}]").first.get_attribute("data-value"))


def first_open_recommendation(session) -> str:
    session.goto("/recommendations?status=open")
    href = session.page.locator("table[data-testid=recommendations] tbody a").first.get_attribute("href")
    return href


@pytest.mark.parametrize("identity", IDENTITIES)
def test_sign_in_as_each_role(sign_in, identity):
    session = sign_in(identity)
    page = session.page
    assert page.url.rstrip("/").endswith(session.demo.base.split("//")[1]) or page.url.endswith("/")
    assert page.locator("[data-testid=tenant-name]").inner_text().strip()
    roles = page.locator("[data-testid=user-roles]").inner_text()
    expected = {"reader": "Reader", "approver": "Approver", "admin": "Admin", "platform-admin": "PlatformAdmin"}
    assert expected[identity.split("-", 1)[1] if identity.startswith("t") else identity] in roles
    assert page.locator("h1").first.inner_text() == "Overview"
    assert session.csp_violations() == []


def test_overview_totals_equal_the_api(sign_in, demo):
    session = sign_in("t0-reader")
    page = session.page
    token = demo.api_token(0, ["AzCops.Reader"])
    last30 = demo.api("/v1/costs/summary?days=30", token)
    assert value(page, "cost-30d") == pytest.approx(last30["total_cost"], abs=0.005)
    assert value(page, "amortized-30d") == pytest.approx(last30["total_amortized_cost"], abs=0.005)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    mtd = demo.api(f"/v1/costs/summary?days={today.day}", token)
    assert value(page, "mtd-cost") == pytest.approx(mtd["total_cost"], abs=0.005)
    summary = demo.api("/v1/recommendations/summary", token)
    assert value(page, "open-savings") == pytest.approx(summary["open_monthly_savings"], abs=0.005)
    assert last30["total_cost"] > 0, "the demo's ingestion wrote costs"


def test_charts_render_with_the_api_data(sign_in, demo):
    session = sign_in("t0-reader")
    page = session.page
    page.wait_for_selector("#trend-chart[data-chart-ready=true]")
    state = page.evaluate(
        """() => {
            const option = echarts.getInstanceByDom(document.getElementById('trend-chart')).getOption();
            const bars = echarts.getInstanceByDom(document.getElementById('service-chart')).getOption();
            return {
                ids: option.series.map(s => s.id),
                types: option.series.map(s => s.type),
                points: option.series.map(s => s.data.length),
                sums: option.series.map(s => s.data.reduce((a, b) => a + b, 0)),
                days: option.xAxis[0].data.length,
                bars: bars.series[0].data.length,
                canvas: document.querySelectorAll('#trend-chart canvas').length,
            };
        }"""
    )
    token = demo.api_token(0, ["AzCops.Reader"])
    last30 = demo.api("/v1/costs/summary?days=30", token)
    assert state["ids"] == ["actual", "amortized"] and state["types"] == ["line", "line"]
    assert state["points"] == [30, 30] and state["days"] == 30
    assert state["sums"][0] == pytest.approx(last30["total_cost"], abs=0.05)
    assert state["sums"][1] == pytest.approx(last30["total_amortized_cost"], abs=0.05)
    assert state["bars"] == min(10, len(last30["by_service"]))
    assert state["canvas"] >= 1
    assert session.csp_violations() == []


def test_a_reader_sees_no_actions_and_a_forged_post_is_refused(sign_in):
    session = sign_in("t0-reader")
    href = first_open_recommendation(session)
    session.goto(href)
    page = session.page
    assert page.locator("[data-action]").count() == 0
    assert page.locator("a[href^='https://portal.azure.com/#resource/subscriptions/']").count() == 1
    forged = page.request.post(f"{session.demo.base}{href}/approve", form={"_csrf": session.csrf()})
    assert forged.status == 403
    session.goto(href)
    assert page.locator("[data-testid=status]").inner_text() == "open"


def test_an_approver_approves_and_the_audit_row_appears(sign_in):
    session = sign_in("t0-approver")
    href = first_open_recommendation(session)
    session.goto(href)
    page = session.page
    assert page.locator("[data-action=execute]").count() == 0, "execute is the Admin's"
    page.locator("button[data-action=approve]").click()
    page.wait_for_selector("[data-testid=status].approved")
    assert "recommendation.approved" in page.locator("table[data-testid=audit]").inner_text()
    assert session.csp_violations() == []


def test_a_request_without_the_csrf_token_is_refused(sign_in):
    session = sign_in("t0-approver")
    href = first_open_recommendation(session)
    page = session.page
    refused = page.request.post(f"{session.demo.base}{href}/dismiss", form={"reason": "not needed"})
    assert refused.status == 403
    assert "anti-forgery" in refused.text()
    session.goto(href)
    assert page.locator("[data-testid=status]").inner_text() == "open"


def test_another_tenants_recommendation_answers_404(sign_in):
    owner = sign_in("t0-reader")
    href = first_open_recommendation(owner)
    other = sign_in("t1-reader")
    response = other.goto(href)
    assert response.status == 404
    assert other.page.locator("[data-testid=error-message]").inner_text() == "not found"


def test_filters_and_sort(sign_in):
    session = sign_in("t0-reader")
    session.goto("/recommendations?category=waste&sort=savings")
    page = session.page
    rows = page.locator("table[data-testid=recommendations] tbody tr")
    assert rows.count() > 0
    savings = [float(v) for v in page.locator("table[data-testid=recommendations] tbody td[data-value]").evaluate_all("els => els.map(e => e.dataset.value)")]
    assert savings == sorted(savings, reverse=True)
    rules = page.locator("table[data-testid=recommendations] tbody tr td:nth-child(2)").all_inner_texts()
    assert rules and all(r.startswith("waste") or r.startswith("advisor") for r in rules), rules
    bad = session.goto("/recommendations?min_savings=-1")
    assert bad.status == 422
    assert "min_savings" in page.locator("[data-testid=error-message]").inner_text()


def test_the_portfolio_lists_every_tenant_for_a_platform_admin_only(sign_in, demo):
    session = sign_in("platform-admin")
    session.goto("/portfolio")
    page = session.page
    rows = page.locator("table[data-testid=tenants] tbody tr")
    assert rows.count() == len(demo.tenants)
    texts = rows.all_inner_texts()
    for tid in demo.tenants:
        assert any(tid in t for t in texts), tid
    rows.nth(1).locator("button").click()
    page.wait_for_url(re.compile(re.escape(demo.base) + "/$"))
    assert page.locator("h1").first.inner_text() == "Overview"
    for identity in ["t0-admin", "t1-reader"]:
        other = sign_in(identity)
        assert other.goto("/portfolio").status == 403, identity


def views(session):
    href = first_open_recommendation(session)
    return ["/", "/costs", "/costs?preset=13m&group=service", "/recommendations",
            "/recommendations?status=approved", href, "/ingestion"]


@pytest.mark.parametrize("identity", ["t0-approver", "platform-admin"])
def test_axe_reports_no_serious_or_critical_violation(sign_in, axe_source, identity):
    session = sign_in(identity, bypass_csp=True)
    pages = views(session) + (["/portfolio"] if identity == "platform-admin" else [])
    failures = []
    for path in pages:
        session.goto(path)
        page = session.page
        page.wait_for_load_state("load")
        page.add_script_tag(path=axe_source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        for violation in result["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [n["target"] for n in violation["nodes"]][:3]
                failures.append(f"{path}: {violation['id']} ({violation['impact']}): {violation['help']} {targets}")
    assert failures == [], "\n".join(failures)


def test_cost_explorer_stacks_subscriptions_and_drills_down(sign_in, demo):
    session = sign_in("t0-reader")
    session.goto("/costs?preset=30d")
    page = session.page
    page.wait_for_selector("#explorer-chart[data-chart-ready=true]")
    state = page.evaluate(
        """() => {
            const option = echarts.getInstanceByDom(document.getElementById('explorer-chart')).getOption();
            return {
                stacks: option.series.map(s => s.stack),
                names: option.series.map(s => s.name),
                total: option.series.reduce((a, s) => a + s.data.reduce((x, y) => x + y, 0), 0),
                days: option.xAxis[0].data.length,
            };
        }"""
    )
    token = demo.api_token(0, ["AzCops.Reader"])
    subscriptions = demo.api("/v1/subscriptions?page_size=500", token)["items"]
    assert state["days"] == 30
    assert set(state["stacks"]) == {"total"}
    assert len(state["names"]) == len(subscriptions)
    assert state["total"] == pytest.approx(demo.api("/v1/costs/summary?days=30", token)["total_cost"], abs=0.5)
    # Drill down: a real click on the first subscription's bar opens its services.
    point = page.evaluate(
        """() => {
            const el = document.getElementById('explorer-chart');
            const chart = echarts.getInstanceByDom(el);
            const data = chart.getOption().series[0].data;
            const i = data.findIndex(v => v > 0);
            const p = chart.convertToPixel({seriesIndex: 0}, [i, data[i] / 2]);
            const r = el.getBoundingClientRect();
            return {x: r.left + p[0], y: r.top + p[1]};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(re.compile(r".*group=service.*"))
    assert "group=service" in page.url
    assert page.locator("table[data-testid=explorer-table] tbody tr").count() > 0
    assert session.csp_violations() == []
