"""Fixtures of the dashboard's browser tests: one `azcops demo` (sandbox estate, full ingestion,
local host emulator) for the session, and headless Debian Chromium through Playwright."""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = os.environ.get("AZCOPS_WEB_CHROMIUM", "/usr/bin/chromium")
AXE = os.environ.get("AZCOPS_WEB_AXE", str(ROOT / "target/web-node/node_modules/axe-core/axe.min.js"))
BINARY = os.environ.get("AZCOPS_WEB_BIN", str(ROOT / "target/debug/azcops"))
DEMO_TIMEOUT_SECS = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """A running `azcops demo` and what it printed."""

    def __init__(self, base: str, sandbox: str, tenants: list[str], process: subprocess.Popen):
        self.base = base
        self.sandbox = sandbox
        self.tenants = tenants
        self.process = process

    def api_token(self, tenant: int, roles: list[str]) -> str:
        body = json.dumps({"tid": self.tenants[tenant], "roles": roles}).encode()
        request = urllib.request.Request(
            f"{self.sandbox}/_sandbox/user-token", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request) as response:
            return json.load(response)["access_token"]

    def api(self, path: str, token: str):
        request = urllib.request.Request(f"{self.base}/api{path}", headers={"authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as response:
            return json.load(response)


def start_demo(extra_env: dict[str, str] | None = None) -> Demo:
    """Starts `azcops demo` on a free port and waits until it prints the dashboard's URL."""
    data = tempfile.mkdtemp(prefix="azcops-web-")
    port = free_port()
    log_path = Path(data) / "demo.log"
    log = open(log_path, "w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZCOPS_WEB_")}
    env["AZCOPS_API_CACHE_SECONDS"] = "0"
    env.update(extra_env or {})
    process = subprocess.Popen(
        [BINARY, "demo", "--port", str(port), "--data-dir", data],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + DEMO_TIMEOUT_SECS
    text = ""
    while time.monotonic() < deadline:
        text = log_path.read_text()
        if "Dashboard at" in text or process.poll() is not None:
            break
        time.sleep(0.5)
    if "Dashboard at" not in text:
        os.killpg(process.pid, signal.SIGKILL)
        raise RuntimeError(f"azcops demo did not come up:\n{text[-4000:]}")
    sandbox = re.search(r"sandbox serving a simulated Azure at (\S+)", text).group(1)
    tenants = re.findall(r"^([0-9a-f-]{36}) ", text, re.M)
    return Demo(f"http://127.0.0.1:{port}", sandbox, tenants, process)


def stop_demo(demo: Demo) -> None:
    """SIGTERM to the demo's process group (the emulator stops its handler), SIGKILL if stuck."""
    os.killpg(demo.process.pid, signal.SIGTERM)
    try:
        demo.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(demo.process.pid, signal.SIGKILL)


def launch_chromium(p):
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--no-first-run"],
    )


def sign_in_page(demo: Demo, page, identity: str):
    """Signs in on `page` through the sandbox's identity page."""
    page.goto(f"{demo.base}/")
    page.locator(f"button[data-identity='{identity}']").click()
    page.wait_for_url(re.compile(re.escape(demo.base) + r"/(portfolio)?$"))
    return page


@pytest.fixture(scope="session")
def demo():
    running = start_demo()
    yield running
    stop_demo(running)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


class Session:
    """A signed-in browser context, with the CSP violations its pages reported."""

    def __init__(self, demo: Demo, context, page):
        self.demo = demo
        self.context = context
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(m.text))

    def goto(self, path: str):
        return self.page.goto(f"{self.demo.base}{path}")

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]

    def csrf(self) -> str:
        return self.page.locator("input[name=_csrf]").first.get_attribute("value")


@pytest.fixture
def sign_in(demo, browser):
    contexts = []

    def _sign_in(identity: str, bypass_csp: bool = False) -> Session:
        # Only axe-core's injection needs the CSP bypassed: the tests load it, the app never does.
        context = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=bypass_csp)
        contexts.append(context)
        session = Session(demo, context, context.new_page())
        sign_in_page(demo, session.page, identity)
        return session

    yield _sign_in
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def axe_source():
    return AXE
