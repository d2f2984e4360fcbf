"""Sphinx extension: the book build's notebook executor never sleeps on a reply it already has.

Loaded from ``_config.yml`` (``sphinx.local_extensions``); not part of the rendered book.

**The stall it removes (project issue 9).** myst-nb executes every notebook with nbclient,
which waits for a cell's ``execute_reply`` with
``await kc.shell_channel.get_msg(timeout=<execute.timeout>)``, a zmq.asyncio poll on the
shell socket. While it waits, nbclient's stand-in for the Output widget (every
``ipywidgets.interactive`` and ``interact`` has one) sends a ``comm_msg`` on that same shell
socket as soon as the cell's figure reaches it. jupyter_client's ``Session.send`` writes
the message through a *synchronous shadow* of the socket
(``zmq.Socket.shadow(stream.underlying)``), so zmq.asyncio never learns of the write. A
libzmq send processes the socket's pending commands, and with them the edge of the
socket's edge-triggered ``ZMQ_FD``: if the kernel's ``execute_reply`` landed in the instant
before, the event loop is never woken for it. The reply then sits in the socket until the
poll times out; the poll's final ``zmq_poll(0)`` finds it, and nbclient carries on as if
nothing happened. The cell "takes" the whole timeout: chapter 7 once took 613 s = its
usual 13 s + the 600 s ``execute.timeout``, and the build passed. The kernel is idle all
along (it replied in milliseconds), and nbval never stalls this way: its blocking client
polls with level-triggered ``zmq_poll`` and sends no ``comm_msg``. Upstream:
jupyter/nbclient#312 (open since 2024; also nbconvert#2029). No released nbclient or
jupyter_client fixes it, so no version constraint can.

**The fix.** After every send on a zmq.asyncio kernel-client channel, read ``zmq.EVENTS``
through the zmq.asyncio socket: its ``get`` re-checks the socket and wakes a pending poll
when a message is waiting, as zmq.asyncio itself does after its own sends.

**The guard.** Should a reply still reach the executor long after the kernel sent it
(``LATE_REPLY_S``), the build warns with the page and the cell, and ``-W`` fails it, so a
stall of this kind can never pass silently again.
"""
from __future__ import annotations

import time

import zmq

# A reply read more than this many seconds after the kernel sent it is a stall. With the
# fix, at load averages of 10-20 on two cores, the stress tool (scripts/stress_notebooks.py)
# measured at most 0.22 s between send and receipt over 2440 cells; a lost wake-up shows
# as the whole cell timeout (60 s in those runs, 600 s in the build of issue 9).
LATE_REPLY_S = 30.0

_installed = False


def install() -> None:
    """Patch jupyter_client's asyncio channel send (idempotent). Used by the stress tool too."""
    global _installed
    if _installed:
        return
    from jupyter_client.channels import AsyncZMQSocketChannel, ZMQSocketChannel

    def send(self, msg):
        ZMQSocketChannel.send(self, msg)  # Session.send: a write through a sync shadow socket
        socket = self.socket
        if socket is not None and not socket.closed:
            socket.get(zmq.EVENTS)  # zmq.asyncio re-checks and wakes a poll whose edge was eaten

    send.__doc__ = "Send, then let zmq.asyncio re-check the socket (book/_ext/shell_wakeup.py)."
    AsyncZMQSocketChannel.send = send
    _installed = True


def reply_lag(execute_reply: dict | None, now: float | None = None) -> float | None:
    """Seconds between the kernel sending ``execute_reply`` and the executor reading it."""
    date = ((execute_reply or {}).get("header") or {}).get("date")
    if not hasattr(date, "timestamp"):
        return None
    return (time.time() if now is None else now) - date.timestamp()


def _install_guard(app) -> None:
    from nbclient.client import NotebookClient
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    original_init = NotebookClient.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        previous = self.on_cell_executed

        def on_cell_executed(cell, cell_index, execute_reply):
            lag = reply_lag(execute_reply)
            if lag is not None and lag > LATE_REPLY_S:
                docname = app.env.temp_data.get("docname") if app.env else None
                first_line = (cell.source.strip().splitlines() or [""])[0][:60]
                logger.warning(
                    "cell %d (%r...): the executor read the kernel's reply %.0f s after the "
                    "kernel sent it, so it stalled (a lost wake-up, see book/_ext/shell_wakeup.py)",
                    cell_index,
                    first_line,
                    lag,
                    location=docname,
                    type="lenet",
                    subtype="late-reply",
                )
            if previous is not None:
                return previous(cell=cell, cell_index=cell_index, execute_reply=execute_reply)
            return None

        self.on_cell_executed = on_cell_executed

    NotebookClient.__init__ = __init__


def setup(app):
    install()
    _install_guard(app)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
