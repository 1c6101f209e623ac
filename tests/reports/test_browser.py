"""report.html in a real browser: headless Chromium renders it with no console error, no network
request, every image decoded, and a screenshot written for a person to look at.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4), which needs no Python package and no port.
The module is skipped, with the reason, where Chromium is not installed (CI installs Debian's
``chromium`` package; see the lead's .ci/run).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from riskframe.reports import render

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(sys.platform == "win32", reason="the DevTools pipe needs POSIX file descriptors"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
TIMEOUT_S = 60


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = (_above_4(fd) for fd in os.pipe())
        self._from_browser, from_browser_w = (_above_4(fd) for fd in os.pipe())
        # A small trampoline puts the pipe ends on descriptors 3 and 4, where --remote-debugging-pipe
        # expects them (a shell cannot: dash redirects only descriptors 0-9).
        trampoline = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                trampoline,
                str(to_browser_r),
                str(from_browser_w),
                str(CHROMIUM),
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._ids = itertools.count(1)
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            self.events.append(self._read())

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._from_browser, 1 << 20) if ready else b""
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe or did not answer in time")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def open(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        return Page(self, session)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def _above_4(fd: int) -> int:
    """``fd`` moved to a number above 4, so that putting the child's ends on 3 and 4 clobbers nothing."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Page:
    def __init__(self, browser: DevTools, session: str) -> None:
        self.browser, self.session = browser, session

    def evaluate(self, expression: str) -> Any:
        reply = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session)
        return reply["result"].get("value")

    def _events(self, *methods: str) -> list[dict[str, Any]]:
        mine = (e for e in self.browser.events if e.get("sessionId") == self.session)
        return [e["params"] for e in mine if e["method"] in methods]

    def console_errors(self) -> list[str]:
        found = [f"exception: {e['exceptionDetails'].get('text')}" for e in self._events("Runtime.exceptionThrown")]
        found += [
            f"console.{e['type']}: {[a.get('value') for a in e.get('args', [])]}"
            for e in self._events("Runtime.consoleAPICalled")
            if e["type"] in ("error", "assert")
        ]
        entries = [e["entry"] for e in self._events("Log.entryAdded")]
        found += [f"log: {entry['text']}" for entry in entries if entry["level"] == "error"]
        return found

    def remote_requests(self) -> list[str]:
        urls = [e["request"]["url"] for e in self._events("Network.requestWillBeSent")]
        return [url for url in urls if not url.startswith(LOCAL_SCHEMES)]

    def screenshot(self, path: Path) -> None:
        data = self.browser.send("Page.captureScreenshot", {"format": "png"}, self.session)["data"]
        path.write_bytes(base64.b64decode(data))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    client = DevTools(tmp_path_factory.mktemp("chromium-profile"))
    yield client
    client.close()


def test_the_report_renders_offline_without_errors(assessment, browser, tmp_path) -> None:
    [page_path] = render(assessment, tmp_path, ["html"])
    page = browser.open(page_path.resolve().as_uri())
    # Give late errors (a script, a broken image decoding) a moment to surface before checking.
    page.evaluate("new Promise(resolve => setTimeout(resolve, 200))")
    assert page.console_errors() == []
    assert page.remote_requests() == []
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth > 0, i.alt])")
    assert len(images) >= 4 and all(complete and decoded for complete, decoded, _ in images), images
    assert page.evaluate("document.querySelector('h1').innerText") == "Gate failed: high risk (72 out of 100)"
    cells = page.evaluate("document.querySelectorAll('table.matrix td.heat-high').length")
    assert cells >= 2  # AML.T0020 under two tactics, AML.T0059: coloured cells that the browser laid out
    width = page.evaluate("document.querySelector('.bar-row .seg-not-assessed').getBoundingClientRect().width")
    assert width > 0
    shot = tmp_path / "report.png"
    page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_check_itself_sees_errors_and_network_requests(browser, tmp_path) -> None:
    # The same checks on a page that breaks both rules: they must not pass vacuously.
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png' alt='x'>"
        "<script>console.error('boom'); undefined_function();</script></body></html>"
    )
    page = browser.open(bad.resolve().as_uri())
    page.evaluate("new Promise(resolve => setTimeout(resolve, 200))")
    assert page.remote_requests() == ["http://127.0.0.1:9/x.png"]
    errors = page.console_errors()
    assert any("boom" in e for e in errors) and any(e.startswith("exception:") for e in errors)


# What is cut on paper: an element that ends beyond the page's printable width, or whose content an
# overflow box clips (paper does not scroll). Only the outermost offender is named.
CUT = """(() => {
  const W = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
    const parent = el.parentElement ? el.parentElement.getBoundingClientRect() : null;
    if (box.right > W + 1 && !(parent && parent.right > W + 1)) out.push(name + ' ends beyond the page');
    if (['hidden', 'auto', 'scroll', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      out.push(name + ' clips its content');
  }
  return out;
})()"""
# A4 portrait less the print stylesheet's 12 mm margins: 186 mm at 96 CSS pixels to the inch.
PRINT_WIDTH_PX = 703


def _printed(browser: DevTools, url: str) -> Page:
    page = browser.open(url)
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, page.session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": PRINT_WIDTH_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, page.session)
    page.evaluate("new Promise(resolve => setTimeout(resolve, 200))")
    return page


def test_the_report_prints_with_nothing_cut(assessment, browser, tmp_path) -> None:
    """The ATLAS matrix (its Impact column included), wide tables and pictures fit the paper."""
    [page_path] = render(assessment, tmp_path, ["html"])
    page = _printed(browser, page_path.resolve().as_uri())
    assert page.evaluate(CUT) == []
    impact = page.evaluate("Array.from(document.querySelectorAll('table.matrix th'))"
                           ".filter(th => th.innerText.includes('Impact')).map(th => th.getBoundingClientRect().right)")
    assert impact and max(impact) <= PRINT_WIDTH_PX
    pdf = base64.b64decode(browser.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True},
                                        page.session)["data"])
    (tmp_path / "report.pdf").write_bytes(pdf)
    boxes = [tuple(map(float, b)) for b in re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)]
    assert pdf.startswith(b"%PDF") and len(boxes) > 3
    assert any(w > h for w, h in boxes) and any(w < h for w, h in boxes)  # the matrix on landscape pages


def test_the_print_check_sees_what_paper_would_cut(browser, tmp_path) -> None:
    wide = tmp_path / "wide.html"
    wide.write_text("<!DOCTYPE html><html><body><div style='overflow-x:auto'><table><tr>"
                    + "<td>AML.T0010.002&nbsp;long&nbsp;cell&nbsp;text</td>" * 12 + "</tr></table></div>"
                    "<p style='width:1200px'>wide</p></body></html>")
    found = _printed(browser, wide.resolve().as_uri()).evaluate(CUT)
    assert "div clips its content" in found and "p ends beyond the page" in found
