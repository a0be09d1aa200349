#!/usr/bin/python3
"""End to end in a real browser: headless chromium, driven over the DevTools protocol, opens a
referral link of the example shop (referkit-shop), signs up and buys. referkit-ingest must then
hold Referral Link Clicked, Referee Signed Up and Order Completed carrying the referrer's code, and
its funnel page must show them; a screenshot of that page is saved as an artifact.

Usage: shop_browser_test.py SHOP_BINARY INGEST_BINARY ARTIFACT_DIR

Exit 0 passed, 1 failed, 77 skipped (chromium or python3-websocket missing: CTest reports it as
skipped, never as passed). Run it with Debian's /usr/bin/python3, where python3-websocket lives.
Every wait is bounded; nothing sleeps hoping something happened meanwhile.
"""
import base64
import http.client
import json
import os
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
DEADLINE = 30.0  # seconds, for each wait


def skip(why):
    print("SKIPPED: " + why)
    sys.exit(SKIP)


def fail(why):
    print("FAILED: " + why)
    sys.exit(1)


try:
    import websocket  # python3-websocket (websocket-client)
except ImportError:
    skip("python3-websocket is needed (apt-get install python3-websocket; scripts/setup-debian.sh)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    skip("chromium is needed (apt-get install chromium; scripts/setup-debian.sh)")


def start_server(argv, log_path):
    """Starts a server that prints `listening on URL` first; returns (process, url)."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    ready, _, _ = select.select([proc.stdout], [], [], DEADLINE)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("listening on "):
        proc.kill()
        fail("%s did not start: %r (see %s)" % (argv[0], line, log_path))
    return proc, line[len("listening on "):].strip()


def stop_server(proc, name):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail(name + " did not stop on SIGTERM")
    if code != 0:
        fail("%s exited with %d" % (name, code))


def http_request(base, method, path, body=None, cookie=None):
    host_port = base[len("http://"):]
    conn = http.client.HTTPConnection(host_port, timeout=DEADLINE)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    if cookie:
        headers["Cookie"] = cookie
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp, data


class DevTools:
    """A minimal DevTools protocol client over one page target."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=DEADLINE)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        fail("no reply to " + method)

    def wait_event(self, method):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            for i, e in enumerate(self.events):
                if e["method"] == method:
                    del self.events[: i + 1]
                    return e
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
        fail("no %s within %ss" % (method, DEADLINE))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            fail("script failed: %s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def load(self, action):
        """Runs `action` (which navigates) and waits for the new page's load event."""
        self.events.clear()
        action()
        self.wait_event("Page.loadEventFired")

    def navigate(self, url):
        self.load(lambda: self.call("Page.navigate", url=url))

    def submit(self, form_id, fields):
        script = "".join(
            "document.querySelector(%s).value = %s;" % (json.dumps(sel), json.dumps(value))
            for sel, value in fields.items())
        script += "document.getElementById(%s).requestSubmit();" % json.dumps(form_id)
        self.load(lambda: self.evaluate(script))

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def launch_chromium(work):
    profile = os.path.join(work, "profile")
    os.makedirs(profile)
    argv = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-dev-shm-usage", "--remote-debugging-port=0",
            "--remote-allow-origins=*", "--window-size=1000,900", "--user-data-dir=" + profile,
            "about:blank"]
    log = open(os.path.join(work, "chromium.log"), "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    end = time.monotonic() + DEADLINE
    port = None
    while time.monotonic() < end and proc.poll() is None:
        if os.path.exists(port_file):
            lines = open(port_file).read().split("\n")
            if len(lines) >= 2 and lines[0].strip():
                port = int(lines[0])
                break
        time.sleep(0.05)  # polling a file chromium writes once; bounded by DEADLINE
    if port is None:
        proc.kill()
        fail("chromium did not open its DevTools port (see chromium.log)")
    with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=DEADLINE) as r:
        pages = [t for t in json.load(r) if t.get("type") == "page"]
    if not pages:
        fail("chromium has no page target")
    return proc, pages[0]["webSocketDebuggerUrl"]


def wait_for_ingest(ingest_url, expected):
    """Polls /v1/stats until by_event has at least `expected` counts (the shop flushes every second)."""
    end = time.monotonic() + DEADLINE
    by_event = {}
    while time.monotonic() < end:
        with urllib.request.urlopen(ingest_url + "/v1/stats", timeout=DEADLINE) as r:
            by_event = json.load(r).get("by_event", {})
        if all(by_event.get(name, 0) >= n for name, n in expected.items()):
            return by_event
        time.sleep(0.1)
    fail("referkit-ingest did not receive %s: %s" % (expected, by_event))


def main():
    if len(sys.argv) != 4:
        fail("usage: shop_browser_test.py SHOP INGEST ARTIFACT_DIR")
    shop_bin, ingest_bin, artifacts = sys.argv[1:]
    os.makedirs(artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="referkit-browser-")
    procs = []
    try:
        keys = os.path.join(work, "keys")
        with open(keys, "w") as f:
            f.write("k1:" + os.urandom(32).hex() + "\n")
        db = os.path.join(work, "ingest.db")
        ingest, ingest_url = start_server(
            [ingest_bin, "--listen", "127.0.0.1:0", "--db", db, "--write-key", "wk"],
            os.path.join(work, "ingest.log"))
        procs.append(ingest)
        shop, shop_url = start_server(
            [shop_bin, "--listen", "127.0.0.1:0", "--endpoint", ingest_url, "--write-key", "wk",
             "--spool", os.path.join(work, "spool"), "--keys", keys],
            os.path.join(artifacts, "shop.log"))
        procs.append(shop)

        # The referrer signs up over plain HTTP and reads her link from her account page.
        resp, _ = http_request(shop_url, "POST", "/signup", "email=jane%40example.com&name=Jane")
        session = resp.getheader("Set-Cookie").split(";")[0]
        _, account = http_request(shop_url, "GET", "/account", cookie=session)
        link = re.search(r'id="referral-link" href="([^"]+)"', account).group(1)
        token = link.rsplit("/r/", 1)[1]
        print("referrer link: " + link)

        chromium, ws_url = launch_chromium(work)
        procs.append(chromium)
        page = DevTools(ws_url)
        page.call("Page.enable")

        # The friend opens the link, lands on the shop, signs up and buys.
        page.navigate(link)
        if page.evaluate("location.pathname") != "/":
            fail("the referral link did not land on / but on " + page.evaluate("location.href"))
        page.submit("signup", {'input[name="email"]': "bob@example.com", 'input[name="name"]': "Bob"})
        if page.evaluate("location.pathname") != "/account":
            fail("signup did not lead to /account: " + page.evaluate("location.href"))
        page.navigate(shop_url + "/")
        page.submit("buy", {'input[data-sku="tee-classic"]': "2", 'input[data-sku="mug-enamel"]': "1"})
        state = page.evaluate("document.getElementById('attribution').dataset.state")
        total = page.evaluate("document.getElementById('total').textContent")
        page.screenshot(os.path.join(artifacts, "shop-order.png"))
        if state != "referred" or total != "64.50 EUR":
            fail("order page says attribution %r, total %r" % (state, total))

        # referkit-ingest's funnel page shows what arrived.
        funnel = {"Referral Link Clicked": 1, "Referee Signed Up": 1, "Order Completed": 1}
        wait_for_ingest(ingest_url, funnel)
        page.navigate(ingest_url + "/")
        page.screenshot(os.path.join(artifacts, "funnel.png"))
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('table')[0].querySelectorAll('tr'))"
            ".filter(r => r.cells.length > 1 && r.cells[0].tagName === 'TD')"
            ".map(r => [r.cells[0].textContent, r.cells[1].textContent])")
        shown = {label: int(count) for label, count in rows}
        print("funnel page shows: %s" % shown)
        for label, count in funnel.items():
            if shown.get(label) != count:
                fail("funnel page shows %s = %s, expected %d" % (label, shown.get(label), count))
        if shown.get("Referral Link Shared") != 0:
            fail("funnel page shows shares that nobody made: %s" % shown)

        page.call("Browser.close")
        chromium.wait(timeout=DEADLINE)
        stop_server(shop, "referkit-shop")
        stop_server(ingest, "referkit-ingest")

        # And the stored events carry the referrer's code.
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        stored = [json.loads(row[0]) for row in conn.execute("SELECT json FROM events")]
        conn.close()
        for name in funnel:
            matching = [e for e in stored if e.get("event") == name]
            if len(matching) != 1:
                fail("%d %s events stored" % (len(matching), name))
            if matching[0]["properties"].get("referral_code") != token:
                fail("%s carries %r, not the referrer's code" % (name, matching[0]["properties"].get("referral_code")))
        print("PASSED: clicked, signed up and ordered through the referrer's link; screenshots in " + artifacts)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
