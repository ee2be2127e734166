"""Dashboard benchmarks (not tests): server render time per page (p50/p95 over sequential
requests with a signed-in cookie, no response cache), the overview's first-load transfer size
(compressed, cold cache) and its load time with charts drawn (Navigation Timing), against
`azcops demo`. Optionally saves screenshots of the views (`--screenshots DIR`)."""

import argparse
import http.client
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import launch_chromium, sign_in_page, start_demo, stop_demo  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def render_times(base: str, cookie: str, path: str, n: int) -> list[float]:
    host = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(host.hostname, host.port)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        conn.request("GET", path, headers={"accept": "text/html", "cookie": cookie})
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (path, response.status, body[:200])
    conn.close()
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--screenshots", type=Path)
    args = parser.parse_args()
    # The per-caller rate limit (which the dashboard shares with the API) would stop the loop.
    demo = start_demo({"AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE": "0", "AZCOPS_API_RATE_LIMIT_PER_MINUTE": "0"})
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            sign_in_page(demo, page, "t0-approver")
            page.goto(f"{demo.base}/recommendations?status=open")
            detail = page.locator("table[data-testid=recommendations] tbody a").first.get_attribute("href")
            page.goto(f"{demo.base}/resources")
            resource = page.locator("table[data-testid=resources] tbody a").first.get_attribute("href")
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
            # Settings are the Admin's: a second session for that page.
            admin = browser.new_context(viewport={"width": 1280, "height": 800})
            sign_in_page(demo, admin.new_page(), "t0-admin")
            admin_cookie = "; ".join(f"{c['name']}={c['value']}" for c in admin.cookies())
            print(f"server render over loopback, {args.requests} sequential requests each (ms):")
            for path in ["/", "/costs", "/costs?preset=13m", "/recommendations",
                         "/recommendations?category=waste&sort=savings", detail, "/ingestion",
                         "/resources", "/resources?tag=cost-center&q=a", resource, "/governance", "/settings"]:
                who = admin_cookie if path == "/settings" else cookie
                render_times(demo.base, who, path, 5)
                times = render_times(demo.base, who, path, args.requests)
                print(f"  {path[:60]:<60} p50 {statistics.median(times):6.1f}  p95 {p95(times):6.1f}  max {max(times):6.1f}")
            sizes, loads = [], []
            state = context.storage_state()
            for _ in range(args.loads):
                cold = browser.new_context(storage_state=state, viewport={"width": 1280, "height": 800})
                tab = cold.new_page()
                tab.goto(f"{demo.base}/")
                tab.wait_for_selector("#trend-chart[data-chart-ready=true]")
                numbers = tab.evaluate(
                    """() => {
                        const nav = performance.getEntriesByType('navigation')[0];
                        const resources = performance.getEntriesByType('resource');
                        const drawn = performance.getEntriesByName('azcops:charts-drawn')[0];
                        return {
                            transfer: nav.transferSize + resources.reduce((a, r) => a + r.transferSize, 0),
                            decoded: nav.decodedBodySize + resources.reduce((a, r) => a + r.decodedBodySize, 0),
                            load: nav.loadEventEnd,
                            charts: drawn ? drawn.startTime : null,
                        };
                    }"""
                )
                sizes.append(numbers)
                loads.append(numbers["charts"] or numbers["load"])
                cold.close()
            transfer = max(s["transfer"] for s in sizes) / 1024
            decoded = max(s["decoded"] for s in sizes) / 1024
            print(f"overview first load (cold cache): {transfer:.0f} KiB transferred ({decoded:.0f} KiB decoded)")
            print(f"overview with charts drawn: median {statistics.median(loads):.0f} ms, max {max(loads):.0f} ms over {args.loads} cold loads")
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                for name, path in [("overview", "/"), ("explorer", "/costs?preset=30d"), ("recommendation", detail)]:
                    page.goto(f"{demo.base}{path}")
                    if name != "recommendation":
                        page.wait_for_selector("[data-chart-ready=true]")
                    page.screenshot(path=str(args.screenshots / f"dashboard-{name}.png"))
                    print(f"wrote {args.screenshots / f'dashboard-{name}.png'}")
            browser.close()
    finally:
        stop_demo(demo)


if __name__ == "__main__":
    main()
