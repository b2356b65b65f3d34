"""JupyterLab and the Notebook interface start from the pinned environment (README set-up) and answer HTTP.

The server runs headless on a free loopback port with a token, in a session of its own, with every
Jupyter folder in a temporary directory; the test stops the whole process group and checks that
nothing of it is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

START_TIMEOUT = 60.0  # seconds until the server must answer
STOP_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, resp.read().decode("utf-8", errors="replace")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (Jupyter shuts down cleanly on it), SIGKILL if it hangs."""
    pgid = proc.pid  # start_new_session=True: the server leads its own group
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)


def test_jupyter_lab_starts_answers_and_stops(tmp_path: Path) -> None:
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install -r requirements-dev.txt)")
    pytest.importorskip(
        "notebook", reason="the Notebook interface is not installed (pip install -r requirements-dev.txt)"
    )
    port, token = _free_port(), "metaacu-test-token"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
    ):
        env[name] = str(tmp_path / name.lower())
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
    ]
    if os.geteuid() == 0:  # CI and these machines run as root, which Jupyter refuses without this
        cmd.append("--allow-root")
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            try:
                status = _get(f"{base}/api/status", token)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        assert status is not None, f"no answer within {START_TIMEOUT:g} s:\n{log.read_text()[-3000:]}"
        assert status[0] == 200 and "started" in json.loads(status[1])
        code, page = _get(f"{base}/lab", token)
        assert code == 200 and "JupyterLab" in page
        code, page = _get(f"{base}/tree", token)  # the Notebook interface (notebook 7) on the same server
        assert code == 200 and "<html" in page.lower()
        with pytest.raises(urllib.error.HTTPError) as refused:  # the token is required
            urllib.request.urlopen(f"{base}/api/status", timeout=5)
        assert refused.value.code == 403
        refused.value.close()
    finally:
        _stop(proc)
    assert proc.returncode is not None
    assert not _group_alive(proc.pid), "processes of the Jupyter server are still running"
