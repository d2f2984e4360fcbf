"""The build's executor fix for the lost shell wake-up (book/_ext/shell_wakeup.py, issue 9).

The race is reproduced deterministically with jupyter_client's own channel class: the
executor waits on ``shell_channel.get_msg(timeout)``, the kernel's reply lands, and before
the event loop runs again the executor sends a ``comm_msg`` on the same channel (as
nbclient's Output-widget stand-in does). Without the fix the reply is only read when the
timeout expires; with it, at once.
"""
from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel, ZMQSocketChannel
from jupyter_client.session import Session
from conftest import run_coroutine

EXT = Path(__file__).resolve().parents[1] / "book" / "_ext" / "shell_wakeup.py"
POLL_TIMEOUT_S = 4.0


def load_extension():
    spec = importlib.util.spec_from_file_location("shell_wakeup_under_test", EXT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restore_send():
    original = AsyncZMQSocketChannel.__dict__.get("send")
    yield
    if original is None:
        if "send" in AsyncZMQSocketChannel.__dict__:
            del AsyncZMQSocketChannel.send
    else:
        AsyncZMQSocketChannel.send = original


async def _reply_after_send_race() -> tuple[str, float]:
    """Seconds until a pending get_msg returns the reply when a send races its arrival."""
    ctx = zmq.asyncio.Context()
    kernel = ctx.socket(zmq.ROUTER)
    client = ctx.socket(zmq.DEALER)
    try:
        port = kernel.bind_to_random_port("tcp://127.0.0.1")
        client.connect(f"tcp://127.0.0.1:{port}")
        session = Session(key=b"test")
        shell = AsyncZMQSocketChannel(client, session)
        request = session.msg("execute_request", {"code": "1"})
        shell.send(request)
        ident, *_ = await kernel.recv_multipart()

        start = time.monotonic()
        waiting = asyncio.ensure_future(shell.get_msg(timeout=POLL_TIMEOUT_S))
        await asyncio.sleep(0.05)  # the executor is now polling the shell socket
        session.send(kernel, "execute_reply", {"status": "ok"}, parent=request, ident=[ident])
        time.sleep(0.05)  # the reply is queued; the event loop has not run since
        shell.send(session.msg("comm_msg", {"comm_id": "output-widget", "data": {}}))
        reply = await waiting
        return reply["msg_type"], time.monotonic() - start
    finally:
        client.close(linger=0)
        kernel.close(linger=0)
        ctx.term()


def test_without_the_fix_the_reply_waits_for_the_timeout(restore_send):
    """The upstream race the fix exists for: proves the reproduction below is real."""
    if "send" in AsyncZMQSocketChannel.__dict__:
        del AsyncZMQSocketChannel.send
    assert AsyncZMQSocketChannel.send is ZMQSocketChannel.send
    msg_type, seconds = run_coroutine(_reply_after_send_race())
    assert msg_type == "execute_reply"
    if seconds < 1.0:
        pytest.skip("jupyter_client/pyzmq no longer lose this wake-up: book/_ext/shell_wakeup.py "
                    "may be retired (check with scripts/stress_notebooks.py)")
    assert seconds >= POLL_TIMEOUT_S - 0.1


def test_with_the_fix_the_reply_is_read_at_once(restore_send):
    ext = load_extension()
    ext.install()
    assert AsyncZMQSocketChannel.send is not ZMQSocketChannel.send
    msg_type, seconds = run_coroutine(_reply_after_send_race())
    assert msg_type == "execute_reply"
    assert seconds < 1.0


def test_reply_lag_reads_the_kernel_send_time():
    ext = load_extension()
    session = Session(key=b"test")
    msg = session.msg("execute_reply", {"status": "ok"})
    sent = msg["header"]["date"].timestamp()
    assert ext.reply_lag(msg, now=sent + 42.5) == pytest.approx(42.5)
    assert ext.reply_lag(None) is None
    assert ext.reply_lag({"header": {}}) is None


def test_the_build_loads_the_fix():
    import yaml

    root = Path(__file__).resolve().parents[1]
    sphinx = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    path = sphinx["local_extensions"]["shell_wakeup"]
    assert (root / path / "shell_wakeup.py") == EXT
    assert "shell_wakeup" in sphinx["config"]["extensions"]
