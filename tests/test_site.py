"""Browser test of the rendered book (GitHub issue 5).

Every HTML page of ``_build/html`` is opened in headless Chromium (Debian's
``/usr/bin/chromium``, driven by the ``playwright`` package; no browser is ever
downloaded), served from a local HTTP server with every non-local request blocked.
For each page the test asserts:

* it loads with HTTP 200 and logs no console error and no uncaught exception;
* no request leaves localhost (every request URL is recorded; others are blocked);
* MathJax typeset every formula: each Sphinx ``.math`` element holds an
  ``mjx-container``, there is no ``mjx-merror``, and no raw ``$``, ``$$``, ``\\(`` or
  ``\\[`` delimiters (or bare TeX commands) are left in the visible text;
* every ``<img>`` loaded (``naturalWidth > 0``);
* no cell output shows a Python traceback;
* every saved widget view was drawn by the offline widget manager and no
  "Loading widget..." placeholder is left;
* every same-site link (pages, ``#anchors``, citations, download buttons) resolves
  to an existing file and, when it has a fragment, to an existing id on that page.

A failing page leaves a screenshot in ``_build/site-test-failures/``. A summary
line (pages, formulas, images, links, widgets) is printed at the end of the run and
written to ``_build/site-test-summary.json``.

The build: if ``_build/html`` is older than any notebook, markdown page, config
file, ``lenet_utils`` module or committed result, the test rebuilds it first, so
running the test suite always checks the current sources (a change to
``lenet_utils/`` or ``results/`` re-executes every notebook: scripts/notebook_cache.sh).

Environment variables:

``LENET_BOOK_ROOT``   book to test (default: this repository); e.g. a stub book
                      made by ``tests/site/make_stub_book.py``.
``LENET_SITE_BUILD``  ``auto`` (default: rebuild when stale), ``always``, or
                      ``never`` (fail if the build is missing or stale).

A rebuild runs ``bash scripts/build_book.sh --no-setup`` with this Python's
``jupyter-book``; only notebooks that changed are executed again (jupyter-cache).
``LENET_CHROMIUM``    browser executable (default ``/usr/bin/chromium``).
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(os.environ.get("LENET_BOOK_ROOT", Path(__file__).resolve().parents[1])).resolve()
SITE = ROOT / "_build" / "html"
FAILURES = ROOT / "_build" / "site-test-failures"
SUMMARY = ROOT / "_build" / "site-test-summary.json"
CHROMIUM = os.environ.get("LENET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
BUILD_TIMEOUT_S = 3 * 3600
# Pages Sphinx writes besides the table of contents.
EXTRA_PAGES = ["index.html", "genindex.html", "search.html"]
# Console messages that are not errors of the book (none known so far).
CONSOLE_ALLOW: list[re.Pattern] = []


# --------------------------------------------------------------------------- pages


def toc_pages() -> list[str]:
    """The HTML pages the book must have: every _toc.yml entry plus Sphinx's own."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    pages = [re.sub(r"\.(md|ipynb)$", "", f) + ".html" for f in files]
    return pages + [p for p in EXTRA_PAGES if p not in pages]


PAGES = toc_pages()


def source_files() -> list[Path]:
    """Files whose change makes the built site stale."""
    out = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "package-lock.json"]
    for folder, patterns in [
        ("notebooks", ["*.ipynb", "*.md"]),
        ("book", ["*.md", "*.bib", "*.ipynb"]),
        ("book/_assets", ["*"]),
        ("lenet_utils", ["*.py"]),   # the notebooks' outputs come from this code
        ("results", ["*"]),          # ... and from these committed results
        ("book/explorer", ["*"]),    # the explorer's and chapter 3's in-page scripts
    ]:
        for pattern in patterns:
            out += (ROOT / folder).rglob(pattern) if (ROOT / folder).is_dir() else []
    return [
        p
        for p in out
        if p.is_file() and not {".ipynb_checkpoints", "_vendor", "__pycache__"} & set(p.parts)
    ]


def built_html() -> list[Path]:
    if not SITE.is_dir():
        return []
    return [p for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts]


def stale_reason() -> str | None:
    html = built_html()
    if not html:
        return f"{SITE} has no pages"
    if (SITE.parent / ".build-failed").exists():
        return "the last build failed (_build/.build-failed)"
    missing = [p for p in PAGES if not (SITE / p).is_file()]
    if missing:
        return f"pages missing from {SITE}: {', '.join(missing)}"
    built = max(p.stat().st_mtime for p in html)
    newer = [p for p in source_files() if p.stat().st_mtime > built]
    if newer:
        return "sources changed since the last build: " + ", ".join(
            str(p.relative_to(ROOT)) for p in newer[:5]
        )
    return None


def build_site() -> None:
    """Build as the README does (scripts/build_book.sh), minus the setup step."""
    bindir = Path(sys.executable).parent
    jb = bindir / "jupyter-book"
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_BOOK"] = str(jb if jb.exists() else "jupyter-book")
    env.pop("MPLBACKEND", None)  # Agg in the kernels would drop every plt.show() figure
    script = ROOT / "scripts" / "build_book.sh"
    if not script.exists():  # a book root without the scripts (should not happen)
        script = Path(__file__).resolve().parents[1] / "scripts" / "build_book.sh"
    for cmd in [["bash", str(script), "--no-setup"]]:
        print("site test: running", " ".join(cmd), flush=True)
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, text=True, capture_output=True, timeout=BUILD_TIMEOUT_S
        )
        if proc.returncode != 0:
            pytest.fail(
                f"building the site failed: {' '.join(cmd)} exited {proc.returncode}\n"
                + (proc.stdout[-6000:] + proc.stderr[-6000:]),
                pytrace=False,
            )


# A session fixture, declared in tests/conftest.py (shared with tests/test_explorer.py).
def site(data_root) -> Path:  # a build executes the notebooks, which read MNIST
    mode = os.environ.get("LENET_SITE_BUILD", "auto")
    reason = "LENET_SITE_BUILD=always" if mode == "always" else stale_reason()
    if reason:
        if mode == "never":
            pytest.fail(f"the built site is not usable ({reason}); run bash scripts/build_book.sh",
                        pytrace=False)
        print(f"site test: building the book ({reason})", flush=True)
        start = time.monotonic()
        build_site()
        print(f"site test: build took {time.monotonic() - start:.0f} s", flush=True)
        reason = stale_reason()
        if reason and mode != "always":
            pytest.fail(f"the site is still unusable after building: {reason}", pytrace=False)
    return SITE


# -------------------------------------------------------------------------- server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The browser aborting a download (a page navigated away) is not an error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


# A session fixture, declared in tests/conftest.py (shared with tests/test_explorer.py).
def server(site):
    httpd = _Server(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


# ------------------------------------------------------------------------- browser


# A session fixture, declared in tests/conftest.py (shared with tests/test_explorer.py).
def browser_context(server):
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install it with: "
            "apt-get install -y chromium   (or: WITH_BROWSER=1 bash scripts/setup.sh)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install playwright "
                    "(never run `playwright install`; the test uses the system Chromium)",
                    pytrace=False)
    profile = tempfile.mkdtemp(prefix="lenet-chromium-")
    pw = sync_playwright().start()
    try:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            service_workers="block",
        )
    except Exception:
        pw.stop()
        shutil.rmtree(profile, ignore_errors=True)
        raise
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()
    pw.stop()
    shutil.rmtree(profile, ignore_errors=True)


TOTALS = {"pages": 0, "formulas": 0, "images": 0, "links": 0, "widgets": 0, "requests": 0}


@pytest.fixture(scope="session", autouse=True)
def summary(request):
    yield TOTALS
    if TOTALS["pages"] == 0:
        return
    line = (
        "site test summary: {pages} pages, {formulas} formulas typeset, {images} images, "
        "{links} internal links, {widgets} widgets, {requests} requests (all local)".format(**TOTALS)
    )
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(TOTALS, indent=2) + "\n")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + line, flush=True)
    else:
        print(line)


# ------------------------------------------------------------------ link targets


class _IdCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


_ID_CACHE: dict[Path, set[str]] = {}


def ids_in(path: Path) -> set[str]:
    if path not in _ID_CACHE:
        parser = _IdCollector()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        _ID_CACHE[path] = parser.ids
    return _ID_CACHE[path]


def check_link(site: Path, base: str, href: str) -> str | None:
    """None if a same-site URL resolves to a file (and anchor), else the problem."""
    parts = urlsplit(href)
    rel = unquote(parts.path[len(urlsplit(base).path):]) if parts.path.startswith(urlsplit(base).path) else None
    if rel is None:
        return f"link outside the site: {href}"
    target = site / rel
    if rel == "" or rel.endswith("/") or target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"broken link: {href} (no file {target.relative_to(site)})"
    frag = unquote(parts.fragment)
    if frag and target.suffix == ".html" and frag not in ids_in(target):
        return f"broken anchor: {href} (no id {frag!r} in {target.relative_to(site)})"
    return None


# ----------------------------------------------------------------- in-page probes

PROBE_JS = r"""
async () => {
  // Wait for MathJax (if the page loads it) and for the widget manager.
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const views = () => Array.from(document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]'));
  const drawn = (s) => {
    const prev = s.previousElementSibling;
    return !!(prev && prev.classList.contains('widget-subarea') && prev.childElementCount > 0);
  };
  for (let i = 0; i < 100 && !views().every(drawn); i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;   // widgets may have queued more typesetting
  }
  // Visible text outside code and typeset math.
  const skip = 'pre, code, script, style, textarea, noscript, mjx-container, .highlight, .MathJax';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const chunks = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    if (el.checkVisibility && !el.checkVisibility()) continue;
    chunks.push(n.nodeValue);
  }
  const math = Array.from(document.querySelectorAll('.math'));
  const imgs = Array.from(document.images);
  return {
    text: chunks.join(' '),
    mathElements: math.length,
    mathUntypeset: math.filter(m => !m.querySelector('mjx-container'))
                       .map(m => m.textContent.trim().slice(0, 80)),
    mjx: document.querySelectorAll('mjx-container').length,
    merrors: Array.from(document.querySelectorAll('mjx-merror'))
                  .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80)),
    images: imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    widgets: views().length,
    tracebacks: document.querySelectorAll(
        '.cell_output .traceback, .cell_output .highlight-ipythontb, .output.traceback, .output.error').length,
    widgetsUndrawn: views().filter(s => !drawn(s)).length,
  };
}
"""

RAW_MATH = [
    (re.compile(r"\$\$"), "$$"),
    (re.compile(r"\\\(|\\\)"), "\\( \\)"),
    (re.compile(r"\\\[|\\\]"), "\\[ \\]"),
    (re.compile(r"(?<![\w$])\$[^\s$](?:[^$\n]{0,200}?[^\s$\\])?\$(?![\w$])"), "$...$"),
    (re.compile(r"\\(?:frac|sum|mathbf|mathrm|mathbb|tanh|alpha|beta|sigma|times|cdot|left|right|begin|end|partial|sqrt)\b"),
     "a TeX command"),
]
LOADING = re.compile(r"Loading widget", re.I)


# ------------------------------------------------------- Chinese characters (issue 12)
# The book ships its own CJK web font (scripts/cjk_font.py, book/_assets/cjk-font.css), so that the
# glossary's Chinese terms show on a machine with no Chinese font. On every page with CJK text the
# font must be loaded and must be what the browser actually drew those characters with.
CJK_FAMILY = "LeNet Book CJK"
CJK_TEXT = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
CJK_PROBE_JS = r"""
async (family) => {
  await document.fonts.ready;
  const cjk = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/g;
  const nodes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (el && (n.nodeValue.match(cjk) || []).length && !el.closest("script, style") && !el.dataset.cjkProbe) {
      el.dataset.cjkProbe = String(nodes.length);
      nodes.push(el);
    }
  }
  const chars = [...new Set(nodes.flatMap((el) => [...el.childNodes]
      .filter((c) => c.nodeType === 3).flatMap((c) => c.nodeValue.match(cjk) || [])))].join("");
  const faces = [...document.fonts].filter((f) => f.family.replace(/["']/g, "") === family);
  return {chars, faces: faces.map((f) => f.status), check: document.fonts.check(`16px "${family}"`, chars),
          counts: nodes.map((el) => [...el.childNodes].filter((c) => c.nodeType === 3)
              .reduce((k, c) => k + (c.nodeValue.match(cjk) || []).length, 0))};
}
"""


def cjk_font_problems(page) -> list[str]:
    """Problems with the CJK web font on a page that shows CJK characters (none if it shows none)."""
    info = page.evaluate(CJK_PROBE_JS, CJK_FAMILY)
    if not info["chars"]:
        return []
    problems = []
    if "loaded" not in info["faces"] or not info["check"]:
        problems.append(f"the web font {CJK_FAMILY!r} is not loaded (font faces: {info['faces']}) "
                        f"for the CJK characters {info['chars'][:20]!r}")
    # Ask Chromium which fonts it drew each element's own text with (DevTools protocol).
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        for i, count in enumerate(info["counts"]):
            node_id = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f'[data-cjk-probe="{i}"]'})["nodeId"]
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
            custom = sum(f["glyphCount"] for f in fonts if f.get("isCustomFont"))
            if custom < count:
                problems.append(f"{count - custom} of {count} CJK characters of an element were drawn with "
                                f"{[f['familyName'] for f in fonts if not f.get('isCustomFont')]}, not the web font")
                break
    finally:
        cdp.detach()
    return problems


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file", "chrome-error", "javascript"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in ("127.0.0.1", "localhost")


# ---------------------------------------------------------------------------- test


@pytest.mark.parametrize("page_path", PAGES)
def test_page(page_path, site, server, browser_context):
    problems: list[str] = []
    requests: list[str] = []
    blocked: list[str] = []
    failed: list[str] = []
    console: list[str] = []

    page = browser_context.new_page()

    def route(r):
        url = r.request.url
        requests.append(url)
        if is_local(url):
            r.continue_()
        else:
            blocked.append(url)
            r.abort("blockedbyclient")

    page.route("**/*", route)
    page.on("console", lambda m: console.append(f"{m.type}: {m.text} [{m.location.get('url', '')}]")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: None if r.url in blocked else failed.append(f"failed {r.url}: {r.failure}"))

    try:
        url = server + page_path
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            problems.append(f"HTTP {response.status if response else 'no response'} for {url}")
        if 'http-equiv="Refresh"' in (site / page_path).read_text(encoding="utf-8", errors="replace"):
            # index.html is a redirect to the root page: follow it.
            page.wait_for_url(lambda u: u.rstrip("/") != url.rstrip("/"), wait_until="load")
        info = page.evaluate(PROBE_JS)
        page.wait_for_timeout(200)  # let late font/asset requests report

        if blocked:
            problems.append("requests to outside localhost (blocked): " + ", ".join(sorted(set(blocked))))
        if failed:
            problems.append("failed requests: " + ", ".join(sorted(set(failed))))
        errors = [c for c in console if not any(p.search(c) for p in CONSOLE_ALLOW)]
        if errors:
            problems.append("console errors:\n    " + "\n    ".join(errors))

        if info["mathUntypeset"]:
            problems.append(f"{len(info['mathUntypeset'])} formulas not typeset by MathJax, e.g. "
                            + repr(info["mathUntypeset"][:3]))
        if info["merrors"]:
            problems.append("MathJax errors: " + repr(info["merrors"][:5]))
        for pattern, name in RAW_MATH:
            m = pattern.search(info["text"])
            if m:
                ctx = info["text"][max(0, m.start() - 40): m.end() + 40].replace("\n", " ")
                problems.append(f"raw {name} left in the visible text: ...{ctx}...")
        if info["tracebacks"]:
            problems.append(f"{info['tracebacks']} cell output(s) show a Python traceback or error")
        if LOADING.search(info["text"]):
            problems.append("a 'Loading widget...' placeholder is left on the page")
        if info["widgetsUndrawn"]:
            problems.append(f"{info['widgetsUndrawn']} of {info['widgets']} saved widget views not drawn")

        if CJK_TEXT.search(info["text"]):
            problems += cjk_font_problems(page)

        bad_imgs = [i["src"] for i in info["images"] if not i["ok"]]
        if bad_imgs:
            problems.append("images that did not load: " + ", ".join(bad_imgs))

        current = page.url
        internal = set()
        for href in info["links"]:
            if not is_local(href) or urlsplit(href).scheme not in ("http", "https"):
                continue  # external links are allowed (not requested); mailto etc.
            internal.add(href)
        for href in sorted(internal):
            problem = check_link(site, server, href)
            if problem:
                problems.append(problem)

        TOTALS["pages"] += 1
        TOTALS["formulas"] += info["mjx"]
        TOTALS["images"] += len(info["images"])
        TOTALS["links"] += len(internal)
        TOTALS["widgets"] += info["widgets"]
        TOTALS["requests"] += len(requests)

        if problems:
            FAILURES.mkdir(parents=True, exist_ok=True)
            shot = FAILURES / (page_path.replace("/", "__").replace(".html", "") + ".png")
            page.screenshot(path=str(shot), full_page=True)
            pytest.fail(f"{page_path} ({current}): {len(problems)} problem(s); screenshot {shot}\n  - "
                        + "\n  - ".join(problems), pytrace=False)
    finally:
        page.close()


def test_cjk_font_covers_every_cjk_character(site):
    """The web font has a glyph for every CJK character of the built site."""
    from fontTools.ttLib import TTFont

    chars = {ch for p in built_html() for ch in CJK_TEXT.findall(p.read_text(encoding="utf-8", errors="replace"))}
    font = site / "_static" / "lenet-cjk.woff2"
    assert chars, "the site has no CJK characters (the glossary should have the Chinese terms)"
    assert font.is_file(), f"{font} missing: scripts/build_book.sh makes it with scripts/cjk_font.py"
    cmap = TTFont(font).getBestCmap()
    missing = sorted(ch for ch in chars if ord(ch) not in cmap)
    assert not missing, f"the CJK web font lacks {''.join(missing)!r}"


def test_no_unexpected_pages(site):
    """Only the pages of the table of contents (and Sphinx's own) are built."""
    built = {str(p.relative_to(site)) for p in built_html()}
    extra = sorted(built - set(PAGES))
    assert not extra, f"pages built that are not in _toc.yml (and so not tested): {extra}"


def test_book_features(site, server, browser_context):
    """Download buttons, theme switch, footer, hidden solutions and offline search."""
    page = browser_context.new_page()
    page.route("**/*", lambda r: r.continue_() if is_local(r.request.url) else r.abort())
    try:
        chapters = [p for p in PAGES if p.startswith("notebooks/")] or PAGES[:1]
        page.goto(server + chapters[0], wait_until="load")
        hrefs = page.eval_on_selector_all(".dropdown-download-buttons a[href]", "els => els.map(e => e.href)")
        assert any(h.endswith(".ipynb") for h in hrefs), f"no .ipynb download button on {chapters[0]}: {hrefs}"
        footer = page.inner_text("footer.bd-footer-content")
        assert "2026" in footer and "LeNet Book authors" in footer, f"footer: {footer!r}"
        assert page.locator(".theme-switch-button").count() > 0, "no light/dark theme switch"
        assert page.locator(".search-button, .search-button-field").count() > 0, "no search button"
        before = page.evaluate("document.documentElement.dataset.theme")
        page.locator(".theme-switch-button").first.click()
        after = page.evaluate("document.documentElement.dataset.theme")
        assert before != after, f"theme switch did nothing (data-theme stayed {before!r})"

        # Exercise solutions (sphinx-exercise, :class: dropdown) stay hidden until clicked.
        for chapter in chapters:
            page.goto(server + chapter, wait_until="load")
            solutions = page.locator(".solution.dropdown")
            if solutions.count():
                body = solutions.first.locator("section").first
                assert not body.is_visible(), f"a solution on {chapter} is visible before a click"
                solutions.first.locator(".admonition-title").click()
                body.wait_for(state="visible", timeout=5_000)
                break

        # Search works offline: the search page finds the word 'convolution'.
        page.goto(server + "search.html?q=convolution", wait_until="load")
        page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    finally:
        page.close()
