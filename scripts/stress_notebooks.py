#!/usr/bin/env python
"""Execute every notebook many times, the ways the build and nbval do, and report stalls.

A tool for hunting intermittent kernel stalls (project issue 9), not part of the test
command. Each *round* runs every notebook of ``_toc.yml`` once, in table-of-contents
order, in one process, as the real runs do:

``cache``  the book build's path: myst-nb -> jupyter-cache ``single_nb_execution`` ->
           nbclient, with myst-nb's settings from ``_config.yml`` (cwd = the notebook's
           folder, ``execute.timeout``, ``allow_errors``, the notebook's kernel) and the
           executor fixes the build loads (``sphinx.local_extensions`` with an
           ``install()``; ``--without-executor-fix`` leaves them out).
``nbval``  ``pytest --nbval <notebooks> --nbval-cell-timeout=<t> -p no:cacheprovider``,
           as ``scripts/test.sh`` runs it.
``jb``     a whole ``jupyter-book build`` into a temporary folder with an empty cache
           (slowest; the exact condition of the build).

``--parallel 2`` runs two rounds at once (a loaded machine). Every execution is recorded
(notebook, mode, wall time, per-cell times, the kernel's and the client's timestamps of
each cell) in ``executions.jsonl``. An execution is a *stall* when it takes more than
``--stall-factor`` (3) times its notebook's median over the run; a *late reply* is a cell
whose ``execute_reply`` the client read more than 30 s after the kernel sent it (the
lost wake-up of issue 9, which can hit every execution and so hide from the median).
The exit status is 1 when there was either. While an execution is
running past ``--capture-after`` seconds beyond that limit, the script captures
evidence automatically into ``evidence/``: ``py-spy dump`` of the client and of every
kernel under it (twice, 30 s apart), the process tree, and the message log, in which the
client records every message it sends and receives (time, channel, type, ids, and the
kernel's own send time from the header).

Examples::

    .venv/bin/python scripts/stress_notebooks.py --rounds 10                 # cache + nbval
    .venv/bin/python scripts/stress_notebooks.py --modes cache --rounds 10 --parallel 2
    .venv/bin/python scripts/stress_notebooks.py --notebooks 07_innovations --rounds 30
    .venv/bin/python scripts/stress_notebooks.py --synthetic --modes cache --timeout 60 \
        --without-executor-fix --rounds 5      # the issue-9 stall, reproduced in minutes
    .venv/bin/python scripts/stress_notebooks.py --report _build/stress/<run>  # summary again

The cell time limit is ``execute.timeout`` of ``_config.yml`` or ``$LENET_CELL_TIMEOUT``,
as for the build and ``scripts/test.sh`` (``--timeout``/``--nbval-timeout`` override it).
Results go to ``_build/stress/<date-time>/`` (``--out`` to change). ``py-spy`` (pip) is
used when installed; without it the client's stacks come from ``faulthandler``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A cell whose execute_reply the client read this long after the kernel sent it lost its
# wake-up (the signature of the issue-9 stall; cf. LATE_REPLY_S in book/_ext/shell_wakeup.py).
LATE_REPLY_S = 30.0

# ----------------------------------------------------------------------------- config


def book_config() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}


def toc_notebooks() -> list[Path]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [ROOT / (f + ".ipynb") for f in files if (ROOT / (f + ".ipynb")).is_file()]


# ------------------------------------------------------------- instrumentation (child)
# Installed in the process that executes notebooks (never in the kernels) when
# STRESS_STATUS / STRESS_MSGLOG are set. It only observes: no message is changed.

_lock = threading.Lock()
_msglog = None
_status = None


def _emit_status(**event) -> None:
    if _status is None:
        return
    event["t"] = time.time()
    with _lock:
        _status.write(json.dumps(event) + "\n")
        _status.flush()


def _log_msg(direction: str, sock, msg) -> None:
    if _msglog is None:
        return
    try:
        import zmq

        kind = {zmq.SUB: "iopub", zmq.DEALER: "shell/ctl"}.get(sock.type, str(sock.type))
    except Exception:
        kind = "?"
    try:
        header = msg.get("header", {})
        parent = msg.get("parent_header", {}) or {}
        content = msg.get("content", {}) or {}
        extra = ""
        if header.get("msg_type") == "status":
            extra = content.get("execution_state", "")
        elif header.get("msg_type", "").endswith("_reply"):
            extra = content.get("status", "")
        date = header.get("date")
        if hasattr(date, "isoformat"):
            date = date.isoformat()
        line = "%.6f %s %-9s %-22s id=%s parent=%s sent=%s %s %s\n" % (
            time.time(),
            direction,
            kind,
            header.get("msg_type"),
            str(header.get("msg_id", ""))[-12:],
            str(parent.get("msg_id", ""))[-12:],
            date,
            extra,
            threading.current_thread().name,
        )
    except Exception as exc:  # never break the execution because of the log
        line = "%.6f %s log-error %r\n" % (time.time(), direction, exc)
    with _lock:
        _msglog.write(line)
        _msglog.flush()


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process (for per-cell kernel CPU time)."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _kernel_pid(km) -> int | None:
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(proc, "pid", None)


def instrument() -> None:
    """Log every client message and every cell start/end; idempotent."""
    global _msglog, _status
    if _status is not None or not os.environ.get("STRESS_STATUS"):
        return
    if any("ipykernel" in a for a in getattr(sys, "orig_argv", [])):
        return  # never instrument a kernel
    _status = open(os.environ.pop("STRESS_STATUS"), "a", buffering=1, encoding="utf-8")
    if os.environ.get("STRESS_MSGLOG"):
        _msglog = open(os.environ.pop("STRESS_MSGLOG"), "a", buffering=1, encoding="utf-8")
    # the kernels this process starts inherit a clean environment
    if "STRESS_PYTHONPATH" in os.environ:
        os.environ["PYTHONPATH"] = os.environ.pop("STRESS_PYTHONPATH")
        if not os.environ["PYTHONPATH"]:
            del os.environ["PYTHONPATH"]
    import faulthandler

    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)

    from jupyter_client import channels

    def wrap_recv(cls, is_async):
        original = cls._recv

        if is_async:
            async def _recv(self, **kwargs):
                msg = await original(self, **kwargs)
                _log_msg("<-", self.socket, msg)
                return msg
        else:
            def _recv(self, **kwargs):
                msg = original(self, **kwargs)
                _log_msg("<-", self.socket, msg)
                return msg
        cls._recv = _recv

    def wrap_send(cls):
        original = cls.send

        def send(self, msg):
            _log_msg("->", self.socket, msg)
            return original(self, msg)

        cls.send = send

    wrap_recv(channels.ZMQSocketChannel, False)
    wrap_send(channels.ZMQSocketChannel)
    if "_recv" in channels.AsyncZMQSocketChannel.__dict__:
        wrap_recv(channels.AsyncZMQSocketChannel, True)

    try:
        from nbclient.client import NotebookClient
    except ImportError:  # nbval mode does not use nbclient
        return
    original_init = NotebookClient.__init__
    original_execute = NotebookClient.async_execute

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        # the notebook's file: myst-nb's NotebookClientCache (jb mode) holds it as .path
        frame = sys._getframe(1)
        while frame is not None and not hasattr(self, "_stress_name"):
            owner = frame.f_locals.get("self")
            if type(owner).__name__.startswith("NotebookClient") and hasattr(owner, "nb_config"):
                self._stress_name = Path(str(owner.path)).name
            frame = frame.f_back
        previous_execute, previous_executed = self.on_cell_execute, self.on_cell_executed

        def on_cell_execute(cell, cell_index):
            _emit_status(ev="cell_start", cell=cell_index, cpu=_cpu_seconds(_kernel_pid(self.km)))
            if previous_execute is not None:
                return previous_execute(cell=cell, cell_index=cell_index)

        def on_cell_executed(cell, cell_index, execute_reply):
            date = ((execute_reply or {}).get("header") or {}).get("date")
            lag = time.time() - date.timestamp() if hasattr(date, "timestamp") else None
            _emit_status(ev="cell_end", cell=cell_index, cpu=_cpu_seconds(_kernel_pid(self.km)),
                         status=(execute_reply or {}).get("content", {}).get("status"), lag=lag)
            if previous_executed is not None:  # e.g. the build's late-reply guard
                return previous_executed(cell=cell, cell_index=cell_index, execute_reply=execute_reply)

        self.on_cell_execute, self.on_cell_executed = on_cell_execute, on_cell_executed

    async def async_execute(self, *args, **kwargs):
        path = (self.resources or {}).get("metadata", {}).get("path", "")
        name = self.nb.metadata.get("_stress_name") or getattr(self, "_stress_name", None) or path
        _emit_status(ev="exec_start", nb=name, pid=os.getpid())
        try:
            return await original_execute(self, *args, **kwargs)
        finally:
            _emit_status(ev="exec_finish", nb=name)

    from nbclient.util import run_sync

    NotebookClient.__init__ = __init__
    NotebookClient.async_execute = async_execute
    NotebookClient.execute = run_sync(async_execute)  # execute wraps async_execute at class creation


# ---------------------------------------------------------------- worker: cache mode


def cell_times(nb) -> list[dict]:
    """Per-cell kernel timestamps that nbclient's record_timing stores."""
    out = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("execution")
        if cell.cell_type != "code" or not meta:
            continue

        def ts(key):
            value = meta.get(key)
            if not value:
                return None
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

        busy, idle = ts("iopub.status.busy"), ts("iopub.status.idle")
        inp, reply = ts("iopub.execute_input"), ts("shell.execute_reply")
        out.append(
            {
                "cell": index,
                "kernel_busy": busy,
                "kernel_idle": idle,
                "kernel_reply": reply,
                "kernel_s": (reply - inp) if (reply and inp) else None,
            }
        )
    return out


def build_executor_fixes() -> list[str]:
    """The local Sphinx extensions of _config.yml that patch the executor (install())."""
    local = ((book_config().get("sphinx") or {}).get("local_extensions") or {})
    return [f"{name}={ROOT / path}" for name, path in local.items()]


def install_executor_fixes(specs: list[str]) -> None:
    """Apply the build's executor fixes in this process, as the book build does."""
    import importlib

    for spec in specs:
        name, path = spec.split("=", 1)
        sys.path.insert(0, path)
        module = importlib.import_module(name)
        if hasattr(module, "install"):
            module.install()
            print(f"stress worker: executor fix {name}.install() applied", file=sys.stderr, flush=True)


def worker_cache(notebooks: list[str], timeout: int, allow_errors: bool, fixes: list[str]) -> int:
    """Execute notebooks one after the other as myst-nb's cache mode does."""
    install_executor_fixes(fixes)
    instrument()
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    for path in map(Path, notebooks):
        nb = nbformat.read(str(path), as_version=4)
        nb.metadata["_stress_name"] = path.name
        _emit_status(ev="nb_start", nb=path.name, pid=os.getpid())
        start = time.monotonic()
        # The call myst-nb's NotebookClientCache makes (myst_nb/core/execute/cache.py),
        # plus record_timing=True for the per-cell kernel timestamps.
        result = single_nb_execution(
            nb,
            cwd=str(path.parent.resolve()),
            allow_errors=allow_errors,
            timeout=timeout,
            meta_override=True,
            record_timing=True,
        )
        wall = time.monotonic() - start
        nb.metadata.pop("_stress_name", None)
        _emit_status(
            ev="nb_end",
            nb=path.name,
            wall=wall,
            error=(f"{type(result.err).__name__}: {result.err}"[:2000] if result.err else None),
            kernel_cells=cell_times(nb),
        )
    return 0


# ----------------------------------------------------------------- nbval mode plugin
# Loaded with `pytest -p stress_notebooks` (scripts/ on PYTHONPATH).

_nbval_current: dict = {}


def _nbval_file(nodeid: str) -> str:
    return Path(nodeid.split("::", 1)[0]).name


def pytest_configure(config):
    instrument()


def pytest_runtest_logstart(nodeid, location):
    name = _nbval_file(nodeid)
    if _nbval_current.get("nb") != name:
        _nbval_close()
        _nbval_current.update(nb=name, start=time.time(), last=time.time(), cells=[], error=None)
        _emit_status(ev="nb_start", nb=name, pid=os.getpid())
    _emit_status(ev="cell_start", cell=nodeid.split("::", 1)[-1])


def _nbval_kernel_cpu(item) -> float | None:
    kernel = getattr(getattr(item, "parent", None), "kernel", None)
    return _cpu_seconds(_kernel_pid(getattr(kernel, "km", None)))


try:
    import pytest as _pytest

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        before = _nbval_kernel_cpu(item)
        yield
        after = _nbval_kernel_cpu(item)
        if before is not None and after is not None:
            _nbval_current.setdefault("cpu", {})[item.nodeid.split("::", 1)[-1]] = after - before
except ImportError:  # the tool itself does not need pytest
    pass


def pytest_runtest_logreport(report):
    if not _nbval_current:
        return
    if report.when == "call":
        name = report.nodeid.split("::", 1)[-1]
        _nbval_current["cells"].append(
            {"cell": name, "client_s": report.duration, "outcome": report.outcome,
             "kernel_cpu_s": _nbval_current.get("cpu", {}).get(name)}
        )
        if report.failed and _nbval_current.get("error") is None:
            _nbval_current["error"] = f"{report.nodeid}: {str(report.longrepr)[-1500:]}"


def pytest_runtest_logfinish(nodeid, location):
    if _nbval_current:
        _nbval_current["last"] = time.time()
        _emit_status(ev="cell_end", cell=nodeid.split("::", 1)[-1])


def _nbval_close():
    if _nbval_current.get("nb"):
        c = _nbval_current
        _emit_status(ev="nb_end", nb=c["nb"], wall=c["last"] - c["start"], error=c["error"], cells=c["cells"])
        _nbval_current.clear()


def pytest_sessionfinish(session, exitstatus):
    _nbval_close()


# ------------------------------------------------------------------ parent: running


class Round:
    """One process that runs every notebook once, plus its log files."""

    def __init__(self, mode: str, index: int, notebooks: list[Path], out: Path, args):
        self.mode, self.index, self.notebooks, self.args = mode, index, notebooks, args
        self.dir = out / "rounds" / f"{mode}-{index:03d}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.status = self.dir / "status.jsonl"
        self.msglog = self.dir / "messages.log"
        self.stderr = self.dir / "stderr.log"
        self.proc: subprocess.Popen | None = None
        self.tmp: str | None = None
        self.started = 0.0
        self.captured: set[str] = set()
        self.killed = False

    def command(self) -> tuple[list[str], dict]:
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # as scripts/build_book.sh and the site test do
        env["STRESS_STATUS"] = str(self.status)
        env["STRESS_MSGLOG"] = str(self.msglog)
        env["PYTHONFAULTHANDLER"] = "1"
        py = sys.executable
        nbs = [str(p) for p in self.notebooks]
        if self.mode == "cache":
            cmd = [py, str(Path(__file__).resolve()), "--worker-cache", "--timeout", str(self.args.timeout)]
            if not self.args.without_executor_fix:
                cmd += [f"--executor-fix={spec}" for spec in build_executor_fixes()]
            cmd += nbs
        elif self.mode == "nbval":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "scripts"), env.get("PYTHONPATH")]))
            cmd = [py, "-m", "pytest", "--nbval", *nbs, f"--nbval-cell-timeout={self.args.nbval_timeout}",
                   "-p", "no:cacheprovider", "-p", "stress_notebooks", "-q", "-o", "addopts="]
        elif self.mode == "jb":
            self.tmp = tempfile.mkdtemp(prefix="stress-jb-")
            site = Path(self.tmp) / "site"
            site.mkdir()
            (site / "sitecustomize.py").write_text(
                "import os\nif os.environ.get('STRESS_STATUS'):\n"
                "    import stress_notebooks; stress_notebooks.instrument()\n"
            )
            # only the jupyter-book process imports the instrumentation: kernels get a clean env
            env["STRESS_PYTHONPATH"] = env.get("PYTHONPATH", "")
            env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT / "scripts")])
            jb = Path(py).parent / "jupyter-book"
            cmd = [str(jb), "build", str(ROOT), "--path-output", self.tmp, "--all"]
        else:
            raise ValueError(self.mode)
        return cmd, env

    def start(self):
        cmd, env = self.command()
        (self.dir / "command.txt").write_text(" ".join(cmd) + "\n")
        self.started = time.time()
        with open(self.stderr, "w") as err:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=err, stderr=subprocess.STDOUT, start_new_session=True
            )

    def events(self) -> list[dict]:
        if not self.status.exists():
            return []
        out = []
        for line in self.status.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
        return out

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def executions_of(rnd: Round) -> list[dict]:
    """Turn a round's status events into one record per notebook execution."""
    start_kind = "exec_start" if rnd.mode == "jb" else "nb_start"
    end_kind = "exec_finish" if rnd.mode == "jb" else "nb_end"
    records, current, cells_open = [], None, {}
    for ev in rnd.events():
        kind = ev.get("ev")
        if kind == start_kind:
            current, cells_open = {"nb": Path(str(ev["nb"])).name, "start": ev["t"], "client_cells": []}, {}
        elif kind == "cell_start" and current is not None:
            cells_open[ev["cell"]] = (ev["t"], ev.get("cpu"))
        elif kind == "cell_end" and current is not None and ev["cell"] in cells_open:
            t0, cpu0 = cells_open.pop(ev["cell"])
            cpu = ev.get("cpu") - cpu0 if (ev.get("cpu") is not None and cpu0 is not None) else None
            current["client_cells"].append({"cell": ev["cell"], "client_s": ev["t"] - t0, "end": ev["t"],
                                            "kernel_cpu_s": cpu, "reply_lag_s": ev.get("lag")})
        elif kind == end_kind and current is not None:
            wall = ev.get("wall", ev["t"] - current["start"])
            rec = {
                "mode": rnd.mode,
                "round": rnd.index,
                "nb": current["nb"],
                "wall_s": round(wall, 3),
                "start": current["start"],
                "error": ev.get("error"),
                "client_cells": current["client_cells"],
            }
            if ev.get("kernel_cells"):
                # lag = when the client got the reply minus when the kernel sent it
                ends = {c["cell"]: c["end"] for c in current["client_cells"]}
                for kc in ev["kernel_cells"]:
                    if kc.get("kernel_reply") and kc["cell"] in ends:
                        kc["reply_lag_s"] = round(ends[kc["cell"]] - kc["kernel_reply"], 3)
                rec["kernel_cells"] = ev["kernel_cells"]
            if ev.get("cells"):
                rec["nbval_cells"] = ev["cells"]
            records.append(rec)
            current = None
    return records


def running_execution(rnd: Round) -> dict | None:
    """The execution in progress in a round: notebook, start, current cell."""
    current, cell = None, None
    for ev in rnd.events():
        kind = ev.get("ev")
        start_kind = "exec_start" if rnd.mode == "jb" else "nb_start"
        end_kind = "exec_finish" if rnd.mode == "jb" else "nb_end"
        if kind == start_kind:
            current, cell = {"nb": Path(str(ev["nb"])).name, "start": ev["t"]}, None
        elif kind == "cell_start" and current:
            cell = (ev["cell"], ev["t"])
        elif kind == end_kind:
            current = None
    if current and cell:
        current["cell"], current["cell_start"] = cell
    return current


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for c in map(int, children):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def capture_evidence(rnd: Round, running: dict, out: Path, tag: str) -> Path:
    """py-spy dumps of client and kernels, process tree, message log: one stall, all evidence."""
    folder = out / "evidence" / f"{rnd.mode}-{rnd.index:03d}-{running['nb'].replace('.ipynb', '')}"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%H%M%S")
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    pids = [rnd.proc.pid] + descendants(rnd.proc.pid)
    lines = [f"{tag} at {time.ctime()} (load {open('/proc/loadavg').read().strip()})",
             f"running: {json.dumps(running)}", ""]
    for pid in pids:
        cmd = cmdline(pid)
        role = "kernel" if "ipykernel" in cmd else "client" if pid == rnd.proc.pid or "python" in cmd else "other"
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().split()
            lines.append(f"pid {pid} [{role}] state={stat[2]} utime={stat[13]} stime={stat[14]} {cmd[:200]}")
        except OSError:
            lines.append(f"pid {pid} gone")
            continue
        if "python" not in cmd and "jupyter-book" not in cmd:
            continue
        if Path(pyspy).exists():
            res = subprocess.run([pyspy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60)
            (folder / f"{stamp}-pyspy-{role}-{pid}.txt").write_text(res.stdout + res.stderr)
        elif pid == rnd.proc.pid:
            os.kill(pid, signal.SIGUSR1)  # faulthandler stacks go to the round's stderr.log
    (folder / f"{stamp}-processes.txt").write_text("\n".join(lines) + "\n")
    for f in (rnd.msglog, rnd.status, rnd.stderr):
        if f.exists():
            shutil.copy(f, folder / f"{stamp}-{f.name}")
    return folder


def reply_lags(rec: dict) -> dict:
    """Cell -> seconds between the kernel sending its execute_reply and the client reading it."""
    lags = {c["cell"]: c["reply_lag_s"] for c in rec.get("client_cells", []) if c.get("reply_lag_s") is not None}
    for kc in rec.get("kernel_cells", []):  # older records: from nbclient's record_timing
        if "reply_lag_s" in kc:
            lags.setdefault(kc["cell"], kc["reply_lag_s"])
    return lags


def medians(records: list[dict]) -> dict:
    by: dict = {}
    for r in records:
        if not r.get("error"):
            by.setdefault((r["mode"], r["nb"]), []).append(r["wall_s"])
    return {k: statistics.median(v) for k, v in by.items()}


def synthetic_notebook(path: Path, blocks: int = 15) -> Path:
    """A notebook made of what the chapters do around their widgets, many times over:
    tqdm.auto bars, matplotlib figures and ``ipywidgets.interact`` cells whose Output
    widget captures a figure. It reproduces the issue-9 stall in a few executions (the
    chapters have one or two widget cells each) and takes under a minute on an idle machine."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [
        "import numpy as np, torch\nimport matplotlib.pyplot as plt\nimport ipywidgets as widgets\n"
        "from tqdm.auto import tqdm\ntorch.set_num_threads(2)\n"
        "x = torch.randn(64, 1, 32, 32); conv = torch.nn.Conv2d(1, 6, 5)\n"
        "def show(k=3):\n    fig, ax = plt.subplots(figsize=(2, 2)); ax.plot(np.arange(10) * k); plt.show()"
    ]
    for i in range(blocks):
        cells += [
            "for _ in tqdm(range(40), desc='bar', leave=False):\n    conv(x).sum().item()",
            "show(2)",
            "widgets.interact(show, k=(1, 5))",
            f"print('block {i}', conv(x).relu().mean().item())",
        ]
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


def run(args) -> Path:
    out = Path(args.out) if args.out else ROOT / "_build" / "stress" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    notebooks = toc_notebooks()
    if args.synthetic:
        notebooks = [synthetic_notebook(out / "synthetic_widgets.ipynb")]
    elif args.notebooks:
        keep = [n for n in notebooks if any(s in n.name for s in args.notebooks)]
        notebooks = keep or [Path(n).resolve() for n in args.notebooks]
    meta = {
        "argv": sys.argv,
        "modes": args.modes,
        "rounds": args.rounds,
        "parallel": args.parallel,
        "timeout": args.timeout,
        "nbval_timeout": args.nbval_timeout,
        "notebooks": [n.name for n in notebooks],
        "executor_fixes": [] if args.without_executor_fix else build_executor_fixes(),
        "versions": versions(),
        "started": time.ctime(),
        "cpus": os.cpu_count(),
    }
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    print(f"stress: {len(notebooks)} notebooks x {args.rounds} rounds x modes {args.modes}, "
          f"parallel {args.parallel}; results in {out}", flush=True)

    queue = [(mode, i) for i in range(args.rounds) for mode in args.modes]
    reference = load_reference(args.reference)
    records: list[dict] = []
    loads: list[float] = []
    active: list[Round] = []
    jsonl = open(out / "executions.jsonl", "a", encoding="utf-8")
    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    seen: dict[Round, int] = {}
    while (queue or active) and not stop:
        while queue and len(active) < args.parallel:
            mode, i = queue.pop(0)
            rnd = Round(mode, i, notebooks, out, args)
            rnd.start()
            active.append(rnd)
            seen[rnd] = 0
        time.sleep(2)
        loads.append(float(open("/proc/loadavg").read().split()[0]))
        med = {**reference, **medians(records)}
        for rnd in list(active):
            new = executions_of(rnd)[seen[rnd]:]
            for rec in new:
                rec["load1"] = loads[-1]
                records.append(rec)
                jsonl.write(json.dumps(rec) + "\n")
                jsonl.flush()
                m = med.get((rec["mode"], rec["nb"]))
                flag = " STALL" if m and rec["wall_s"] > args.stall_factor * m else ""
                late = [cell for cell, lag in reply_lags(rec).items() if lag > LATE_REPLY_S]
                flag += f" LATE REPLY in cell(s) {late}" if late else ""
                flag += f" ERROR {rec['error'][:200]!r}" if rec.get("error") else ""
                print(f"  {rec['mode']:5s} r{rec['round']:03d} {rec['nb']:28s} {rec['wall_s']:8.1f} s "
                      f"(load {loads[-1]:.2f}){flag}", flush=True)
            seen[rnd] += len(new)
            running = running_execution(rnd)
            if running:
                elapsed = time.time() - running["start"]
                m = med.get((rnd.mode, running["nb"]))
                limit = args.stall_factor * m if m else args.first_limit
                key = running["nb"]
                if elapsed > limit + args.capture_after and key not in rnd.captured:
                    rnd.captured.add(key)
                    folder = capture_evidence(rnd, running, out, "first capture")
                    print(f"  !! {rnd.mode} r{rnd.index:03d} {key} running {elapsed:.0f} s "
                          f"(limit {limit:.0f} s): evidence in {folder}", flush=True)
                    threading.Timer(30, capture_evidence, (rnd, running, out, "second capture")).start()
                hard = (args.timeout if rnd.mode != "nbval" else args.nbval_timeout) + 300
                if elapsed > hard and not rnd.killed:
                    print(f"  !! killing {rnd.mode} r{rnd.index:03d}: {key} ran {elapsed:.0f} s", flush=True)
                    rnd.killed = True
                    os.killpg(rnd.proc.pid, signal.SIGKILL)
            if rnd.proc.poll() is not None:
                # collect anything written after the last poll
                new = executions_of(rnd)[seen[rnd]:]
                for rec in new:
                    rec["load1"] = loads[-1]
                    records.append(rec)
                    jsonl.write(json.dumps(rec) + "\n")
                seen[rnd] += len(new)
                if rnd.proc.returncode != 0:
                    print(f"  round {rnd.mode} r{rnd.index:03d} exited {rnd.proc.returncode} "
                          f"(see {rnd.stderr})", flush=True)
                rnd.cleanup()
                active.remove(rnd)
    for rnd in active:  # interrupted
        os.killpg(rnd.proc.pid, signal.SIGTERM)
        rnd.cleanup()
    jsonl.close()
    meta["finished"] = time.ctime()
    meta["load1_mean"] = round(statistics.mean(loads), 2) if loads else None
    meta["load1_max"] = max(loads) if loads else None
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    report(out, args.stall_factor)
    return out


def load_reference(path: str | None) -> dict:
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    return {(r["mode"], r["nb"]): r["median_s"] for r in data["notebooks"]}


def versions() -> dict:
    from importlib.metadata import version

    out = {}
    for pkg in ["ipykernel", "jupyter_client", "nbclient", "jupyter-cache", "myst-nb", "jupyter-book",
                "nbval", "pyzmq", "tornado", "ipywidgets", "tqdm", "torch"]:
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = None
    return out


# ------------------------------------------------------------------------ reporting


def report(out: Path, stall_factor: float = 3.0) -> dict:
    records = [json.loads(l) for l in (out / "executions.jsonl").read_text().splitlines() if l.strip()]
    meta = json.loads((out / "run.json").read_text())
    med = medians(records) or {}
    rows, stalls = [], []
    for (mode, nb) in sorted({(r["mode"], r["nb"]) for r in records}):
        rs = [r for r in records if r["mode"] == mode and r["nb"] == nb]
        m = med.get((mode, nb)) or statistics.median(r["wall_s"] for r in rs)
        st = [r for r in rs if r["wall_s"] > stall_factor * m]
        stalls += st
        rows.append({"mode": mode, "nb": nb, "n": len(rs), "median_s": round(m, 2),
                     "max_s": max(r["wall_s"] for r in rs), "stalls": len(st),
                     "errors": sum(1 for r in rs if r.get("error"))})
    # slowest cells (the basis of the per-cell time limit)
    cells = []  # legitimate cells: all but those whose reply the client read late (a stall)
    for r in records:
        stalled = {cell for cell, lag in reply_lags(r).items() if lag > LATE_REPLY_S}
        for c in r.get("nbval_cells") or r.get("client_cells", []):
            if c["cell"] not in stalled:
                cells.append((c["client_s"], r["mode"], r["nb"], c["cell"], r.get("load1"), c.get("kernel_cpu_s")))
    cells.sort(key=lambda c: c[0], reverse=True)
    by_cpu = sorted((c for c in cells if c[5] is not None), key=lambda c: c[5], reverse=True)
    legit = cells
    lags = [lag for r in records for lag in reply_lags(r).values()]
    late = [{"mode": r["mode"], "round": r["round"], "nb": r["nb"], "cell": cell,
             "reply_lag_s": round(lag, 3), "wall_s": r["wall_s"], "load1": r.get("load1")}
            for r in records for cell, lag in reply_lags(r).items() if lag > LATE_REPLY_S]
    summary = {
        "run": meta,
        "executions": len(records),
        "stalls": len(stalls),
        "errors": sum(1 for r in records if r.get("error")),
        "notebooks": rows,
        "stalled": [{k: r[k] for k in ("mode", "round", "nb", "wall_s", "error", "load1")} for r in stalls],
        "slowest_cells": [
            {"client_s": round(c[0], 2), "mode": c[1], "nb": c[2], "cell": c[3], "load1": c[4],
             "kernel_cpu_s": None if c[5] is None else round(c[5], 2)} for c in legit[:10]
        ],
        "most_cpu_cells": [
            {"kernel_cpu_s": round(c[5], 2), "client_s": round(c[0], 2), "mode": c[1], "nb": c[2], "cell": c[3],
             "load1": c[4]} for c in by_cpu[:10]
        ],
        "late_replies": late,
        "reply_lag_s": {"n": len(lags), "max": round(max(lags), 3) if lags else None,
                        "p99": round(sorted(lags)[int(0.99 * (len(lags) - 1))], 3) if lags else None},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print()
    print(f"## Stress summary ({out.name})")
    v = meta.get("versions", {})
    print(f"modes {meta['modes']}, rounds {meta['rounds']}, parallel {meta['parallel']}, cell timeout "
          f"{meta['timeout']} s (nbval {meta['nbval_timeout']} s), load1 mean {meta.get('load1_mean')} "
          f"max {meta.get('load1_max')}, {meta.get('cpus')} CPUs")
    print("versions: " + ", ".join(f"{k} {v[k]}" for k in v))
    print()
    print("| mode | notebook | executions | median s | max s | stalls (>%gx median) | errors |" % stall_factor)
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['mode']} | {r['nb']} | {r['n']} | {r['median_s']:.1f} | {r['max_s']:.1f} | {r['stalls']} | {r['errors']} |")
    print(f"\nexecutions {summary['executions']}, stalls {summary['stalls']}, errors {summary['errors']}, "
          f"late replies {len(late)}")
    for s in summary["stalled"]:
        print(f"  stall: {s}")
    print("slowest cells (wall):")
    for c in summary["slowest_cells"][:5]:
        print(f"  {c}")
    print("cells with the most kernel CPU time:")
    for c in summary["most_cpu_cells"][:5]:
        print(f"  {c}")
    print(f"reply lag (client receipt - kernel send) over {summary['reply_lag_s']['n']} cells: "
          f"p99 {summary['reply_lag_s']['p99']}, max {summary['reply_lag_s']['max']}; "
          f"{len(late)} replies read more than {LATE_REPLY_S:g} s late (lost wake-ups)")
    for x in late:
        print(f"  late reply: {x}")
    return summary


# ---------------------------------------------------------------------------- main


def main(argv=None) -> int:
    cfg = dict(book_config().get("execute") or {})
    if os.environ.get("LENET_CELL_TIMEOUT", "").strip():  # as the build and scripts/test.sh do
        cfg["timeout"] = int(os.environ["LENET_CELL_TIMEOUT"])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modes", default="cache,nbval", help="comma-separated: cache, nbval, jb (default cache,nbval)")
    p.add_argument("--rounds", type=int, default=10, help="rounds per mode; a round runs every notebook once")
    p.add_argument("--parallel", type=int, default=1, help="rounds running at once (2 = a loaded machine)")
    p.add_argument("--notebooks", nargs="*", help="only notebooks whose name contains one of these")
    p.add_argument("--synthetic", action="store_true",
                   help="execute a generated widget-heavy notebook instead of the book's (a fast reproducer)")
    p.add_argument("--timeout", type=int, default=int(cfg.get("timeout", 600)),
                   help="cell timeout of the cache/jb modes (default: execute.timeout of _config.yml)")
    p.add_argument("--nbval-timeout", type=int, default=int(cfg.get("timeout", 600)),
                   help="--nbval-cell-timeout (default: execute.timeout of _config.yml, as scripts/test.sh)")
    p.add_argument("--stall-factor", type=float, default=3.0)
    p.add_argument("--first-limit", type=float, default=120.0,
                   help="seconds after which an execution counts as stalled before its notebook has a median")
    p.add_argument("--capture-after", type=float, default=20.0,
                   help="capture evidence this many seconds after an execution passes its stall limit")
    p.add_argument("--reference", help="summary.json of an earlier run: its medians set the stall limits at once")
    p.add_argument("--out", help="output folder (default _build/stress/<date-time>)")
    p.add_argument("--report", help="print the summary of an earlier run folder and exit")
    p.add_argument("--without-executor-fix", action="store_true",
                   help="cache mode: do not apply the executor fixes the build loads from _config.yml "
                        "(sphinx.local_extensions), to measure the executor as upstream ships it")
    p.add_argument("--worker-cache", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--executor-fix", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker_cache:
        return worker_cache(args.paths, args.timeout, bool(cfg.get("allow_errors", False)), args.executor_fix)
    if args.report:
        report(Path(args.report), args.stall_factor)
        return 0
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    summary_dir = run(args)
    summary = json.loads((summary_dir / "summary.json").read_text())
    return 1 if summary["stalls"] or summary["late_replies"] else 0


if __name__ == "__main__":
    sys.exit(main())
