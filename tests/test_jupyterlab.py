"""The notebooks live in JupyterLab, as a reader runs them (GitHub issue 11).

The test starts JupyterLab from this environment (``python -m jupyterlab`` of the
interpreter running pytest) on a free local port, with no token, a fresh workspace,
and temporary settings, workspaces, runtime, data and config folders, so that no
saved layout, news toast or dialog gets in the way. It serves a *copy* of
``notebooks/`` and ``results/`` (the notebooks read ``../results``), with autosave off,
so the repository's files are never written; the test checks that ``git status`` of
``notebooks/`` and ``results/`` is the same before and after.

Each notebook is opened in headless Chromium (Debian's ``/usr/bin/chromium`` driven by
``playwright``; no browser is downloaded, every non-local host is unresolvable), run
with the menu command *Run > Run All Cells*, and once the kernel is idle every widget
in it is found in the page (a widget is any top-level ipywidgets view with at least one
control; progress bars have none). Each control is moved with real input events:
a slider's handle by an arrow key, a drop-down by a click that opens it, an arrow key and
Enter, a check box or a toggle button by a mouse click. After each move the test waits
until the kernel has finished the requests the move sent and the output has stopped
changing, then checks that

* the widget's output changed (unless the control is listed in ``UNCHANGED`` with the
  reason its move leaves the output as it was);
* the widget shows exactly one figure;
* no cell and no widget output shows a traceback, and the kernel sent no error;
* the browser console shows no error and no uncaught exception (``CONSOLE_ALLOW``
  lists the exceptions, each with its reason; there are none so far).

It also checks that every code cell ran, that the kernel is this environment's
``Python 3 (LeNet Book)`` kernel (``scripts/setup.sh`` installs it with ``--sys-prefix``),
and that no dialog opened. ``test_selfcheck`` drives a small notebook the test writes
itself, with one widget for each fault above, and asserts that each is reported. Screenshots of each widget before and after each move go to
``_build/jupyterlab-test/<notebook>/`` (kept after the run, so also on failure; the folder
is printed). A table of times and counts per notebook is printed at the end of the
pytest run and written to ``_build/jupyterlab-test/report.md`` and ``report.json``.

JupyterLab is started in its own process group and, whatever happens (failure, Ctrl-C),
stopped at the end: kernels through the REST API, then SIGTERM and SIGKILL to the group;
the test asserts that no process it started (server, kernels, browser) is left.

Environment variables:

``LENET_BOOK_ROOT``    folder whose ``notebooks/`` to test (default: this repository).
``LENET_LAB_WORKERS``  notebooks driven at once, each in its own browser page (default 1).
``LENET_CHROMIUM``     browser executable (default ``/usr/bin/chromium``).

Run only this test: ``.venv/bin/python -m pytest tests/test_jupyterlab.py``; one notebook:
``... -k 03_convolution``.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from conftest import run_coroutine

ROOT = Path(os.environ.get("LENET_BOOK_ROOT", Path(__file__).resolve().parents[1])).resolve()
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb"))
OUT = ROOT / "_build" / "jupyterlab-test"
CHROMIUM = os.environ.get("LENET_CHROMIUM", "/usr/bin/chromium")
WORKERS = max(1, int(os.environ.get("LENET_LAB_WORKERS", "1")))
# What the server's root holds (copies): the notebooks and what they read by relative path.
SERVED = ["notebooks", "results"]
KERNEL_NAME, KERNEL_DISPLAY = "python3", "Python 3 (LeNet Book)"

SERVER_START_TIMEOUT_S = 120
OPEN_TIMEOUT_S = 180
RUN_ALL_TIMEOUT_S = 900
MOVE_TIMEOUT_S = 180
QUIET_MS = 500  # the output counts as drawn once it has not changed for this long

# Controls whose move is meant to leave the widget's output unchanged:
# (notebook stem, control label) -> why. Controls are moved in page order, each from the
# state the previous moves left.
UNCHANGED: dict[tuple[str, str], str] = {
    ("01_background", "HOG cell"): "the 'feature' menu, moved just before, went from hog to pca, and the HOG "
                                   "cell size shapes only the HOG view",
}

# Browser console errors that are not errors of the book: (pattern, why). None so far.
CONSOLE_ALLOW: list[tuple[re.Pattern, str]] = []

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # Pages driven side by side are all "visible": no timer throttling of a background page.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # Nothing outside this machine can be reached (a request to it fails and is reported).
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]

# Server configuration (a temporary JUPYTER_CONFIG_DIR, so the user's own is not read).
SERVER_CONFIG = {
    "IdentityProvider": {"token": ""},
    "ServerApp": {
        "password": "",
        "ip": "127.0.0.1",
        "open_browser": False,
        "port_retries": 0,
        "allow_root": True,  # CI containers run as root
        "disable_check_xsrf": True,  # the REST calls of the teardown carry no cookie
        "terminals_enabled": False,
    },
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
        "expose_app_in_browser": True,  # window.jupyterapp: read the kernel's state
    },
}
# JupyterLab user settings (a temporary JUPYTERLAB_SETTINGS_DIR).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


# A notebook the test writes beside the copies (never into the repository) to check itself:
# one good widget with every kind of control, and one widget for each fault the test must
# report. test_selfcheck asserts that exactly these faults are found.
SELFCHECK = "lenet_lab_selfcheck"
SELFCHECK_CELLS = [
    """import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import Javascript, display


def line(y, title=""):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, y])
    ax.set_title(f"{title} {y}")
    plt.close(fig)
    return fig""",
    # w0: good; a slider, a check box, toggle buttons and a toggle button
    """def good(y=1, flag=False, mode="a", on=False):
    display(line(y, f"{flag} {mode} {on}"))
widgets.interactive(good, y=(0, 5), flag=widgets.Checkbox(False, description="flag"),
                    mode=widgets.ToggleButtons(options=["a", "b"]), on=widgets.ToggleButton(False, description="on"))""",
    # w1: its slider changes nothing
    """def deaf(y=1):
    display(line(0))
widgets.interactive(deaf, y=(0, 5))""",
    # w2: two figures
    """def twice(y=1):
    display(line(y))
    display(line(y + 1))
widgets.interactive(twice, y=(0, 5))""",
    # w3: raises once moved
    """def fails(y=1):
    if y != 1:
        raise ValueError("selfcheck failure")
    display(line(y))
widgets.interactive(fails, y=(0, 5))""",
    """display(Javascript("console.error('selfcheck console error')"))""",
]
SELFCHECK_EXPECTED = [  # (pattern, how many problems match it)
    (r"^widget w1 .*left the output unchanged", 1),
    (r"^widget w2 .*shows 2 figures", 2),  # after Run All and after the move
    (r"^widget w3 .*shows 0 figures", 1),
    (r"^widget w3 .*the kernel raised ValueError: selfcheck failure", 1),
    (r"^traceback shown: .*ValueError", 1),
    (r"^console error: selfcheck console error", 1),
]


def write_selfcheck(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": KERNEL_DISPLAY, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in SELFCHECK_CELLS]
    path = folder / f"{SELFCHECK}.ipynb"
    nbformat.write(nb, path)
    return path


# ----------------------------------------------------------------------- results


@dataclass
class Control:
    kind: str
    label: str
    moved: bool = False
    changed: bool | None = None
    before: str = ""
    after: str = ""


@dataclass
class NotebookResult:
    name: str
    open_s: float | None = None
    run_s: float | None = None
    widgets: int = 0
    controls: list[Control] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(c.moved for c in self.controls)

    @property
    def changed(self) -> int:
        return sum(bool(c.changed) for c in self.controls)


def report_table(results: list[NotebookResult], total_s: float) -> str:
    def sec(x):
        return "-" if x is None else f"{x:.1f}"

    rows = [
        "| notebook | open (s) | run all (s) | widgets | controls moved | output changed | problems |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(f"| {r.name} | {sec(r.open_s)} | {sec(r.run_s)} | {r.widgets} | {r.moved} | "
                    f"{r.changed} | {len(r.problems)} |")
    rows.append(f"| **total** | {sec(sum(r.open_s or 0 for r in results))} | "
                f"{sec(sum(r.run_s or 0 for r in results))} | {sum(r.widgets for r in results)} | "
                f"{sum(r.moved for r in results)} | {sum(r.changed for r in results)} | "
                f"{sum(len(r.problems) for r in results)} |")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows.append("")
    rows.append(f"{len(results)} notebooks in {total_s:.0f} s ({WORKERS} at a time; load average {load}); "
                f"screenshots in {OUT}")
    return "\n".join(rows)


# ------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_mentioning(text: str) -> list:
    import psutil

    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.pid != os.getpid() and any(text in arg for arg in (p.info["cmdline"] or [])):
                found.append(p)
        except psutil.Error:
            pass
    return found


class LabServer:
    """JupyterLab on a copy of the notebooks, in its own process group and temporary folders."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.kernels: dict = {}  # pid -> psutil.Process (which knows if its pid was reused)
        self.log = OUT / "server.log"

    def start(self) -> None:
        for name in SERVED:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, self.root / name,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        dirs = {k: self.base / k.lower() for k in
                ["JUPYTER_CONFIG_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR",
                 "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR"]}
        for d in dirs.values():
            d.mkdir(parents=True)
        (dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
        for plugin, values in LAB_SETTINGS.items():
            path = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ, **{k: str(v) for k, v in dirs.items()})
        env.pop("MPLBACKEND", None)  # a non-interactive backend would hide every figure
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
                 f"--ServerApp.root_dir={self.root}"],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as one
            )
        atexit.register(self._kill_at_exit)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode} at start; see {self.log}:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            try:
                self.api("GET", "/api/status")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer in {SERVER_START_TIMEOUT_S} s; see {self.log}")
                time.sleep(0.3)

    def api(self, method: str, path: str, timeout: float = 30):
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def note_kernels(self) -> None:
        """Remember the kernel processes (they run in sessions of their own, outside the group)."""
        import psutil

        if self.proc is None:
            return
        try:
            for p in psutil.Process(self.proc.pid).children(recursive=True):
                self.kernels.setdefault(p.pid, p)
        except psutil.Error:
            pass

    def shutdown_session(self, path: str) -> None:
        self.note_kernels()
        for s in self.api("GET", "/api/sessions"):
            if s.get("path") == path:
                self.api("DELETE", f"/api/sessions/{s['id']}")

    def stop(self) -> list[str]:
        """Stop kernels and server; return what had to be killed or is left (empty when clean)."""
        import psutil

        problems = []
        if self.proc is None:
            return problems
        self.note_kernels()
        if self.proc.poll() is None:
            try:
                for k in self.api("GET", "/api/kernels", timeout=10):
                    self.api("DELETE", f"/api/kernels/{k['id']}", timeout=30)
            except (OSError, urllib.error.URLError, ValueError) as e:
                problems.append(f"shutting the kernels down through the REST API failed: {e}")
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                problems.append("JupyterLab ignored SIGTERM for 20 s: killed")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        try:  # anything left in the group (the leader may already be gone)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        leftovers = {p.pid: p for p in processes_mentioning(str(self.base))}
        for pid, p in self.kernels.items():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    leftovers[pid] = p
            except psutil.Error:
                pass
        for pid, p in leftovers.items():
            try:
                problems.append(f"process left behind, killed: {pid} {' '.join(p.cmdline())[:200]}")
                p.kill()
            except psutil.Error:
                pass
        self.proc = None
        return problems

    def _kill_at_exit(self) -> None:  # last resort if the fixture's teardown never ran
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in self.kernels.values():
            try:
                p.kill()  # psutil refuses if the pid now belongs to another process
            except Exception:
                pass


def git_status() -> str | None:
    try:
        proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", *SERVED],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


# ------------------------------------------------------------------- in-page code

# Installed once the notebook is open: find its panel, follow the requests sent to the kernel
# and the errors it reports (also those raised in widget callbacks, which only reach widget outputs).
HOOK_JS = r"""
(path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  const ctx = panel.sessionContext;
  const kernel = ctx.session.kernel;
  // sent: shell requests sent (a widget change is a comm_msg); pending: those the kernel
  // has not finished (its idle status message names the request as its parent).
  const s = window.__lenet = {panel, path, sent: 0, pending: new Set(), status: kernel.status, errors: []};
  kernel.anyMessage.connect((_, args) => {
    if (args.direction === 'send' && args.msg.channel === 'shell') {
      s.sent++;
      s.pending.add(args.msg.header.msg_id);
    }
  });
  kernel.iopubMessage.connect((_, msg) => {
    const t = msg.header.msg_type;
    if (t === 'status') {
      s.status = msg.content.execution_state;
      if (s.status === 'idle' && msg.parent_header) s.pending.delete(msg.parent_header.msg_id);
    } else if (t === 'error') {
      s.errors.push(`${msg.content.ename}: ${msg.content.evalue}`);
    }
  });
  kernel.statusChanged.connect((_, st) => { if (st === 'dead' || st === 'restarting') s.status = st; });
  return {kernelName: kernel.name, kernelDisplay: ctx.kernelDisplayName,
          toolbarKernel: (panel.node.querySelector('.jp-Toolbar-kernelName') || {}).textContent || ''};
}
"""

READY_JS = r"""
(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.session) return false;
  const kernel = panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && panel.content.widgets.length === panel.model.cells.length;
}
"""

CODE_CELLS_JS = r"""
() => window.__lenet.panel.content.widgets.filter(c => c.model.type === 'code')
"""

RUN_STARTED_JS = r"""
() => window.__lenet.panel.content.widgets.some(c => c.model.type === 'code' &&
        (c.model.executionState === 'running' || c.model.executionCount !== null))
"""

RUN_DONE_JS = r"""
() => {
  const s = window.__lenet;
  if (s.status === 'dead') return true;
  const cells = s.panel.content.widgets.filter(c => c.model.type === 'code');
  return s.status === 'idle' && cells.every(c => c.model.executionState !== 'running');
}
"""

CELLS_STATE_JS = r"""
() => {
  const s = window.__lenet;
  const out = {notRun: [], errors: [], kernelStatus: s.status, kernelErrors: s.errors.slice()};
  s.panel.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    if (c.model.sharedModel.getSource().trim() && c.model.executionCount === null) out.notRun.push(i);
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') out.errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      const text = Array.isArray(o.text) ? o.text.join('') : (o.text || '');
      if (o.output_type === 'stream' && o.name === 'stderr' && /Traceback/.test(text))
        out.errors.push(`cell ${i}: traceback on stderr: ${text.slice(0, 300)}`);
    }
  });
  return out;
}
"""

# Everything in the page that shows a traceback, widget outputs included.
TRACEBACKS_JS = r"""
() => Array.from(window.__lenet.panel.node.querySelectorAll(
        '[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output.jp-mod-error'))
      .map(e => e.textContent).filter(t => /Traceback|Error:/.test(t)).map(t => t.slice(0, 300))
"""

DIALOGS_JS = r"""
() => Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.textContent.trim().slice(0, 200))
"""

# Marks each top-level widget view with controls (data-lenet-widget) and each control
# (data-lenet-control); returns what it found.
FIND_WIDGETS_JS = r"""
() => {
  const KINDS = [
    ['slider', '.widget-slider'],
    ['dropdown', '.widget-dropdown'],
    ['checkbox', '.widget-checkbox'],
    ['toggle', '.widget-toggle-button'],
    ['toggles', '.widget-toggle-buttons'],
  ];
  const panel = window.__lenet.panel;
  const roots = Array.from(panel.node.querySelectorAll('.jupyter-widgets'))
                     .filter(e => !e.parentElement.closest('.jupyter-widgets'));
  const found = [];
  for (const root of roots) {
    const controls = [];
    for (const [kind, sel] of KINDS) {
      for (const el of root.querySelectorAll(sel)) {
        if (el.closest('.widget-output')) continue;
        if (kind === 'toggle' && el.closest('.widget-toggle-buttons')) continue;  // one of a set
        controls.push([kind, el]);
      }
    }
    if (!controls.length) {
      // A view without controls (a progress bar) is not a widget to move; but a lone
      // input the test does not know how to move is reported.
      const unknown = Array.from(root.querySelectorAll('input, select, textarea, button, [role=slider]'));
      if (!unknown.length) continue;
    }
    controls.sort((a, b) => a[1].compareDocumentPosition(b[1]) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    const w = found.length;
    root.setAttribute('data-lenet-widget', `w${w}`);
    const known = controls.map(c => c[1]);
    const unknown = Array.from(root.querySelectorAll('input, select, textarea, button, [role=slider]'))
      .filter(e => !e.closest('.widget-output') && !known.some(k => k.contains(e)))
      .map(e => e.outerHTML.slice(0, 120));
    const cell = root.closest('.jp-Cell');
    const cellIndex = cell ? Array.from(cell.parentElement.children).filter(
        c => c.classList.contains('jp-Cell')).indexOf(cell) : -1;
    found.push({
      id: `w${w}`,
      cell: cellIndex,
      outputs: root.querySelectorAll('.widget-output').length,
      unknown,
      controls: controls.map(([kind, el], j) => {
        el.setAttribute('data-lenet-control', `w${w}c${j}`);
        const clean = t => (t || '').replace(/[\u200b\s]+/g, ' ').trim();  // a check box's label is U+200B
        let label = clean((el.querySelector('.widget-label') || {}).textContent);
        if (!label) label = clean(el.textContent);
        return {kind, id: `w${w}c${j}`, label: label.slice(0, 60)};
      }),
    });
  }
  return found;
}
"""

# The state of a widget's output: a hash of what it shows (each output's type, its image
# data, SVG or text; not the HTML, whose attributes change when an output is redrawn), and
# its number of figures.
OUTPUT_JS = r"""
(id) => {
  const root = document.querySelector(`[data-lenet-widget="${id}"]`);
  if (!root) return null;
  const outs = Array.from(root.querySelectorAll('.widget-output'));
  const parts = [];
  for (const o of outs) {
    for (const item of o.querySelectorAll('.jp-OutputArea-output')) {
      parts.push(item.getAttribute('data-mime-type') || '?');
      for (const img of item.querySelectorAll('img')) parts.push(img.getAttribute('src') || '');
      for (const svg of item.querySelectorAll('svg')) parts.push(svg.outerHTML);
      for (const c of item.querySelectorAll('canvas')) parts.push(c.toDataURL());
      parts.push(item.innerText);
    }
  }
  const html = parts.join('|');
  let h = 2166136261;
  for (let i = 0; i < html.length; i++) { h ^= html.charCodeAt(i); h = Math.imul(h, 16777619); }
  let figures = 0;
  for (const o of outs) {
    figures += o.querySelectorAll('img, canvas').length;
    figures += Array.from(o.querySelectorAll('svg')).filter(s => !s.parentElement.closest('svg')).length;
  }
  return {hash: (h >>> 0).toString(16) + ':' + html.length, figures,
          text: outs.map(o => o.innerText).join(' ').trim().slice(0, 200)};
}
"""

# The value a control shows in the page.
VALUE_JS = r"""
(id) => {
  const el = document.querySelector(`[data-lenet-control="${id}"]`);
  if (!el) return null;
  const handles = Array.from(el.querySelectorAll('.noUi-handle')).map(h => h.getAttribute('aria-valuenow'));
  if (handles.length) return handles.join(',') + ' ' + ((el.querySelector('.widget-readout') || {}).textContent || '');
  const sel = el.querySelector('select');
  if (sel) return sel.value;
  const box = el.querySelector('input[type=checkbox]');
  if (box) return String(box.checked);
  if (el.matches('.widget-toggle-button')) return String(el.classList.contains('mod-active'));
  return Array.from(el.querySelectorAll('button')).map(b => b.classList.contains('mod-active') ? '1' : '0').join('');
}
"""

# After a move: wait until the page has sent the change to the kernel, the kernel has
# finished every request, and the widget has stopped changing (no DOM mutation for
# QUIET_MS, images decoded).
SETTLE_JS = r"""
async ([id, sentBefore, timeoutMs, quietMs]) => {
  const s = window.__lenet;
  const root = document.querySelector(`[data-lenet-widget="${id}"]`);
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const t0 = performance.now();
  while (!(s.sent > sentBefore && s.pending.size === 0 && s.status === 'idle')) {
    if (s.status === 'dead') return {error: 'the kernel died'};
    if (performance.now() - t0 > timeoutMs) return {error: `the kernel did not answer within ${timeoutMs / 1000} s`};
    await sleep(50);
  }
  let last = performance.now();
  const obs = new MutationObserver(() => { last = performance.now(); });
  obs.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  try {
    while (performance.now() - last < quietMs || s.status !== 'idle' || s.pending.size ||
           Array.from(root.querySelectorAll('img')).some(i => !i.complete)) {
      if (performance.now() - t0 > timeoutMs) return {error: `the output kept changing for ${timeoutMs / 1000} s`};
      await sleep(50);
    }
  } finally { obs.disconnect(); }
  return {ms: performance.now() - t0};
}
"""


# ------------------------------------------------------------------------ driver


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "control"


async def move(page, control: dict) -> str | None:
    """Move one control with real keyboard or mouse input; None, or why it could not."""
    loc = page.locator(f'[data-lenet-control="{control["id"]}"]')
    await loc.scroll_into_view_if_needed()
    kind = control["kind"]
    if kind == "slider":
        handle = loc.locator(".noUi-handle").first
        now, top = [await handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax")]
        await handle.focus()
        at_max = now is not None and top is not None and float(now) >= float(top)
        await page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    elif kind == "dropdown":
        # Click opens the menu (a popup of its own, outside JupyterLab's key bindings, which
        # take the arrow keys of a closed menu for moving between cells); an arrow key and
        # Enter pick the next option, as a reader may do.
        select = loc.locator("select")
        last = await select.evaluate("s => s.selectedIndex === s.options.length - 1")
        await select.click()
        await page.keyboard.press("ArrowUp" if last else "ArrowDown")
        await page.keyboard.press("Enter")
    elif kind == "checkbox":
        await loc.locator("input[type=checkbox]").click()
    elif kind == "toggle":
        await loc.click()
    elif kind == "toggles":
        await loc.locator("button:not(.mod-active)").first.click()
    else:
        return f"no way to move a {kind}"
    return None


async def check_widget_control(page, r: NotebookResult, widget: dict, control: dict, shots: Path) -> None:
    stem = r.name
    label = control["label"]
    name = f"widget {widget['id']} (cell {widget['cell']}), {control['kind']} '{label}'"
    ctl = Control(control["kind"], label)
    r.controls.append(ctl)
    root = page.locator(f'[data-lenet-widget="{widget["id"]}"]')
    base = shots / f"{widget['id']}-{control['id'][len(widget['id']):]}-{control['kind']}-{slug(label)}"
    ctl.before, ctl.after = str(base) + "-before.png", str(base) + "-after.png"

    before = await page.evaluate(OUTPUT_JS, widget["id"])
    value_before = await page.evaluate(VALUE_JS, control["id"])
    await root.screenshot(path=ctl.before)
    sent_before, errors_before = await page.evaluate("() => [window.__lenet.sent, window.__lenet.errors.length]")
    why = await move(page, control)
    if why:
        r.problems.append(f"{name}: {why}")
        return
    value_after = await page.evaluate(VALUE_JS, control["id"])
    if value_after == value_before:
        r.problems.append(f"{name}: the control did not move (value stays {value_before!r})")
        return
    ctl.moved = True
    settled = await page.evaluate(SETTLE_JS, [widget["id"], sent_before, MOVE_TIMEOUT_S * 1000, QUIET_MS])
    await root.screenshot(path=ctl.after)
    if "error" in settled:
        r.problems.append(f"{name}: {settled['error']} after the move ({value_before} -> {value_after})")
        return
    errors = await page.evaluate("(n) => window.__lenet.errors.slice(n)", errors_before)
    r.problems += [f"{name}: the kernel raised {e} after the move ({value_before} -> {value_after})"
                   for e in errors]
    after = await page.evaluate(OUTPUT_JS, widget["id"])
    ctl.changed = after["hash"] != before["hash"]
    reason = UNCHANGED.get((stem, label))
    if reason is None and not ctl.changed:
        r.problems.append(f"{name}: moving it ({value_before} -> {value_after}) left the output unchanged; "
                          f"screenshots {ctl.before}, {ctl.after}")
    elif reason is not None and ctl.changed:
        r.problems.append(f"{name}: listed in UNCHANGED ({reason}) but its move changed the output: "
                          "update the list")
    if after["figures"] != 1:
        r.problems.append(f"{name}: after the move the widget shows {after['figures']} figures, not 1 "
                          f"(output text: {after['text']!r}); screenshot {ctl.after}")


async def check_notebook(context, server: LabServer, nb: Path) -> NotebookResult:
    stem = nb.stem
    r = NotebookResult(stem)
    path = f"notebooks/{nb.name}"
    shots = OUT / stem
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    page = await context.new_page()

    def on_console(msg):
        if msg.type == "error":
            r.console.append(f"console error: {msg.text[:500]} [{msg.location.get('url', '')}]")

    page.on("console", on_console)
    page.on("pageerror", lambda e: r.console.append(f"uncaught exception: {str(e)[:500]}"))
    page.on("requestfailed", lambda q: r.console.append(f"request failed: {q.url[:200]} ({q.failure})")
            if not q.url.startswith(server.url) else None)
    try:
        t0 = time.monotonic()
        await page.goto(f"{server.url}/lab/workspaces/lenet-{slug(stem)}/tree/{path}?reset",
                        wait_until="domcontentloaded")
        await page.wait_for_function(READY_JS, arg=path, timeout=OPEN_TIMEOUT_S * 1000, polling=200)
        r.open_s = time.monotonic() - t0
        kernel = await page.evaluate(HOOK_JS, path)
        await asyncio.to_thread(server.note_kernels)
        if kernel["kernelName"] != KERNEL_NAME or kernel["kernelDisplay"] != KERNEL_DISPLAY:
            r.problems.append(f"the notebook runs kernel {kernel['kernelName']!r} ({kernel['kernelDisplay']!r}), "
                              f"not {KERNEL_NAME!r} ({KERNEL_DISPLAY!r}): run bash scripts/setup.sh")
        if KERNEL_DISPLAY not in kernel["toolbarKernel"]:
            r.problems.append(f"the toolbar names kernel {kernel['toolbarKernel']!r}, not {KERNEL_DISPLAY!r}")
        dialogs = await page.evaluate(DIALOGS_JS)
        if dialogs:
            r.problems.append(f"a dialog is open after opening the notebook: {dialogs}")

        # Run > Run All Cells, as a reader does.
        t1 = time.monotonic()
        await page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        await page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        await page.wait_for_function(RUN_STARTED_JS, timeout=60_000, polling=100)
        await page.wait_for_function(RUN_DONE_JS, timeout=RUN_ALL_TIMEOUT_S * 1000, polling=500)
        r.run_s = time.monotonic() - t1
        await asyncio.to_thread(server.note_kernels)
        state = await page.evaluate(CELLS_STATE_JS)
        if state["kernelStatus"] == "dead":
            r.problems.append("the kernel died while running the notebook")
        r.problems += [f"cell output: {e}" for e in state["errors"]]
        r.problems += [f"kernel error: {e}" for e in state["kernelErrors"]]
        if state["notRun"]:
            r.problems.append(f"code cells that never ran: {state['notRun']}")
        if r.problems:
            return r

        widgets = await page.evaluate(FIND_WIDGETS_JS)
        r.widgets = len(widgets)
        for w in widgets:
            if w["unknown"]:
                r.problems.append(f"widget {w['id']} (cell {w['cell']}) has controls the test cannot move: "
                                  f"{w['unknown']}")
            if not w["outputs"]:
                r.problems.append(f"widget {w['id']} (cell {w['cell']}) has controls but no output area")
                continue
            first = await page.evaluate(OUTPUT_JS, w["id"])
            if first["figures"] != 1:
                r.problems.append(f"widget {w['id']} (cell {w['cell']}) shows {first['figures']} figures after "
                                  f"Run All, not 1 (output text: {first['text']!r})")
            for c in w["controls"]:
                await check_widget_control(page, r, w, c, shots)
        r.problems += [f"traceback shown: {t}" for t in await page.evaluate(TRACEBACKS_JS)]
        dialogs = await page.evaluate(DIALOGS_JS)
        if dialogs:
            r.problems.append(f"a dialog is open: {dialogs}")
    except Exception as e:  # recorded, so the other notebooks still run and cleanup happens
        r.problems.append(f"{type(e).__name__}: {str(e)[:1500]}")
    finally:
        try:
            r.console = [c for c in r.console if not any(p.search(c) for p, _ in CONSOLE_ALLOW)]
            r.problems += r.console
            if r.problems:
                await page.screenshot(path=str(shots / "page-at-failure.png"), full_page=True)
        except Exception:
            pass
        await page.close()
        try:
            await asyncio.to_thread(server.shutdown_session, path)
        except Exception as e:
            r.problems.append(f"shutting down the kernel failed: {e}")
    return r


async def drive(server: LabServer, notebooks: list[Path], profile: Path) -> list[NotebookResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000}, service_workers="block")
        try:
            context.set_default_timeout(60_000)
            gate = asyncio.Semaphore(WORKERS)

            async def one(nb):
                async with gate:
                    return await check_notebook(context, server, nb)

            return list(await asyncio.gather(*(one(nb) for nb in notebooks)))
        finally:
            await context.close()


# ------------------------------------------------------------------------- tests


def selected_notebooks(session) -> tuple[list[Path], bool]:
    """The notebooks whose tests pytest will run, and whether the self-check is among them."""
    names = {item.callspec.params["notebook"] for item in session.items
             if getattr(item, "originalname", "") == "test_notebook_live"}
    selfcheck = any(getattr(item, "originalname", "") == "test_selfcheck" for item in session.items)
    return [nb for nb in NOTEBOOKS if nb.stem in names], selfcheck


@pytest.fixture(scope="session")
def lab(request, data_root, terminal_report):
    """Start JupyterLab, drive the selected notebooks, stop everything; the results."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium "
                    "(or WITH_BROWSER=1 bash scripts/setup.sh)", pytrace=False)
    try:
        import playwright  # noqa: F401
        import psutil
    except ImportError as e:
        pytest.fail(f"{e.name} is missing: bash scripts/setup.sh", pytrace=False)

    notebooks, selfcheck = selected_notebooks(request.session)
    git_before = git_status()
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    base = Path(tempfile.mkdtemp(prefix="lenet-lab-"))
    server = LabServer(base)
    session = {"problems": [], "results": {}}
    start = time.monotonic()

    def on_sigterm(signum, frame):  # a killed run (a CI timeout) stops JupyterLab as Ctrl-C does
        raise KeyboardInterrupt(f"signal {signum}")

    old_sigterm = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.start()
        specs = server.api("GET", "/api/kernelspecs")
        spec = specs["kernelspecs"].get(KERNEL_NAME, {}).get("spec", {})
        if spec.get("display_name") != KERNEL_DISPLAY:
            session["problems"].append(f"kernel spec {KERNEL_NAME!r} is {spec.get('display_name')!r}, not "
                                       f"{KERNEL_DISPLAY!r}: run bash scripts/setup.sh")
        argv0 = Path((spec.get("argv") or ["?"])[0])
        if os.path.normpath(argv0.parent.parent) != os.path.normpath(sys.prefix):
            session["problems"].append(f"kernel spec {KERNEL_NAME!r} runs {argv0}, not this environment's "
                                       f"Python ({sys.prefix}): run bash scripts/setup.sh")
        if selfcheck:
            notebooks = notebooks + [write_selfcheck(server.root / "notebooks")]
        if notebooks:
            print(f"\njupyterlab test: {len(notebooks)} notebooks, {WORKERS} at a time, at {server.url} "
                  f"(log {server.log})", flush=True)
            results = run_coroutine(drive(server, notebooks, base / "chromium-profile"))
            session["results"] = {r.name: r for r in results}
    finally:
        signal.signal(signal.SIGTERM, old_sigterm)
        session["problems"] += server.stop()
        import psutil

        left = []
        def started_here(p) -> bool:
            # A process of an earlier session fixture (the site tests' browser starts helper processes
            # on demand) is not this test's to stop: only count what descends from nothing that existed before.
            try:
                return not any(a.pid in children_before for a in p.parents())
            except psutil.Error:
                return False

        for p in psutil.Process().children(recursive=True):
            if p.pid not in children_before and started_here(p):
                try:
                    if p.status() != psutil.STATUS_ZOMBIE:
                        left.append(f"{p.pid} {' '.join(p.cmdline())[:200]}")
                        p.kill()
                except psutil.Error:
                    pass
        if left:
            session["problems"].append(f"child processes left behind, killed: {left}")
        shutil.rmtree(base, ignore_errors=True)
    git_after = git_status()
    if git_before is not None and git_after != git_before:
        session["problems"].append(f"the test changed the repository's notebooks or results:\n"
                                   f"before:\n{git_before}\nafter:\n{git_after}")
    total = time.monotonic() - start
    results = [r for r in session["results"].values() if r.name != SELFCHECK]
    if results:
        table = report_table(results, total)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "report.md").write_text(table + "\n")
        (OUT / "report.json").write_text(json.dumps(
            {"total_s": total, "workers": WORKERS, "loadavg": os.getloadavg(),
             "notebooks": [dict(asdict(r), moved=r.moved, changed=r.changed) for r in results]}, indent=1))
        terminal_report.append(("JupyterLab: notebooks run live, widgets moved", table))
    return session


@pytest.mark.parametrize("notebook", [nb.stem for nb in NOTEBOOKS])
def test_notebook_live(notebook, lab):
    r = lab["results"].get(notebook)
    assert r is not None, f"{notebook} was not driven (JupyterLab did not start?)"
    if r.problems:
        pytest.fail(f"{notebook} in JupyterLab: {len(r.problems)} problem(s); screenshots in {OUT / notebook}\n  - "
                    + "\n  - ".join(r.problems), pytrace=False)


def test_lab_session_clean(lab):
    """The right kernel; every process stopped; the repository's files untouched."""
    assert not lab["problems"], "\n".join(lab["problems"])


def test_selfcheck(lab):
    """The test finds each fault of its self-check notebook, and nothing else."""
    r = lab["results"].get(SELFCHECK)
    assert r is not None, "the self-check notebook was not driven (JupyterLab did not start?)"
    assert (r.widgets, r.moved) == (4, 7), f"found {r.widgets} widgets and moved {r.moved} controls, not 4 and 7"
    assert [(c.kind, c.changed) for c in r.controls[:4]] == [
        ("slider", True), ("checkbox", True), ("toggles", True), ("toggle", True)], r.controls[:4]
    unexplained = list(r.problems)
    for pattern, count in SELFCHECK_EXPECTED:
        hits = [p for p in r.problems if re.search(pattern, p, re.S)]
        assert len(hits) == count, f"{count} problem(s) like {pattern!r} expected, found {hits}; all: {r.problems}"
        unexplained = [p for p in unexplained if p not in hits]
    assert not unexplained, f"the self-check notebook showed unexpected problems: {unexplained}"
