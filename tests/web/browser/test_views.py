"""Resources, Governance and Settings in headless Chromium against `azcops demo`: each view
renders, the coverage chart's state is read from ECharts, an Admin's settings change persists
and shows in the API (a Reader is refused), and axe-core finds no serious or critical violation."""

import pytest

SERIOUS = {"serious", "critical"}


def first_resource(session) -> str:
    session.goto("/resources")
    return session.page.locator("table[data-testid=resources] tbody a").first.get_attribute("href")


def test_resources_list_filters_and_detail(sign_in, demo):
    session = sign_in("t0-reader")
    response = session.goto("/resources")
    page = session.page
    assert response.status == 200
    assert page.locator("h1").first.inner_text() == "Resources"
    rows = page.locator("table[data-testid=resources] tbody tr")
    assert rows.count() > 0
    token = demo.api_token(0, ["AzCops.Reader"])
    total = demo.api("/v1/resources?page_size=1", token)["total"]
    assert page.locator("[data-testid=result-count]").inner_text().startswith(f"{total} resources")
    # The name search through the form (keyboard: type and press Enter).
    name = rows.first.locator("td").first.inner_text()
    page.locator("input[name=q]").fill(name)
    page.locator("input[name=q]").press("Enter")
    page.wait_for_url("**q=**")
    assert name in page.locator("table[data-testid=resources] tbody").inner_text()
    href = page.locator("table[data-testid=resources] tbody a").first.get_attribute("href")
    detail = session.goto(href)
    assert detail.status == 200
    assert page.locator("h1").first.inner_text() == name
    assert page.locator("a[href^='https://portal.azure.com/#resource/subscriptions/']").count() == 1
    assert page.locator("#recommendations-h").count() == 1
    assert session.csp_violations() == []
    other = sign_in("t1-reader")
    assert other.goto(href).status == 404, "another tenant's resource"


def test_governance_chart_state_matches_the_page(sign_in):
    session = sign_in("t0-reader")
    session.goto("/governance")
    page = session.page
    assert page.locator("h1").first.inner_text() == "Governance"
    page.wait_for_selector("#coverage-chart[data-chart-ready=true]")
    state = page.evaluate(
        """() => {
            const option = echarts.getInstanceByDom(document.getElementById('coverage-chart')).getOption();
            return {
                ids: option.series.map(s => s.id),
                types: option.series.map(s => s.type),
                lengths: option.series.map(s => s.data.length),
                days: option.xAxis[0].data.length,
                max: option.yAxis[0].max,
                resources: option.series[0].data,
            };
        }"""
    )
    assert state["ids"] == ["resources", "cost"] and state["types"] == ["line", "line"]
    assert state["max"] == 100
    assert state["lengths"] == [state["days"], state["days"]] and state["days"] >= 1
    recorded = [v for v in state["resources"] if v is not None]
    assert recorded, "the demo's ingestion recorded today's coverage"
    share = float(page.locator("[data-testid=resource-coverage]").get_attribute("data-value"))
    assert recorded[-1] == pytest.approx(share * 100, abs=0.05)
    assert session.csp_violations() == []


def test_settings_change_as_admin_persists_and_shows_in_the_api(sign_in, demo):
    reader = sign_in("t0-reader")
    assert reader.page.locator("nav a[href='/settings']").count() == 0
    assert reader.goto("/settings").status == 403
    session = sign_in("t0-admin")
    page = session.page
    assert page.locator("nav a[href='/settings']").count() == 1
    session.goto("/settings")
    token = demo.api_token(0, ["AzCops.Reader"])
    before = demo.api("/v1/settings/rules", token)["overrides"]
    original = str(before.get("stale_snapshot_days", ""))
    # A bad value: the form says which field and keeps the page usable.
    page.locator("input[name=vm_cpu_p95_max]").fill("150")
    page.locator("button[data-action=save-settings]").click()
    page.wait_for_selector("[data-testid=form-errors]")
    assert "vm_cpu_p95_max" in page.locator("[data-testid=form-errors]").inner_text()
    assert demo.api("/v1/settings/rules", token)["overrides"] == before
    page.locator("input[name=vm_cpu_p95_max]").fill(str(before.get("vm_cpu_p95_max", "")))
    page.locator("input[name=stale_snapshot_days]").fill("45")
    page.locator("button[data-action=save-settings]").click()
    page.wait_for_selector("[data-testid=saved]")
    after = demo.api("/v1/settings/rules", token)
    assert after["overrides"]["stale_snapshot_days"] == 45
    assert after["effective"]["stale_snapshot_days"] == 45
    assert page.locator("input[name=stale_snapshot_days]").input_value() == "45"
    # Put it back for the other tests.
    page.locator("input[name=stale_snapshot_days]").fill(original)
    page.locator("button[data-action=save-settings]").click()
    page.wait_for_selector("[data-testid=saved]")
    assert demo.api("/v1/settings/rules", token)["overrides"] == before
    assert session.csp_violations() == []


def test_axe_reports_no_serious_or_critical_violation_on_the_new_views(sign_in, axe_source):
    session = sign_in("t0-admin", bypass_csp=True)
    pages = ["/resources", first_resource(session), "/governance", "/settings"]
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
