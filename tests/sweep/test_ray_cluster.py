"""The README's cluster path on a real Ray head: ``ray start --head`` (kept on loopback, with token
authentication on, as Ray 2.60 does when a token exists), then ``initlab sweep run --executor ray
--ray-address 127.0.0.1:PORT`` of a user's model from the user's checkout. The head's processes are
stopped by their PIDs at the end; where Ray cannot start, or listens beyond loopback, the test skips
and says why."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from initlab.errors import ConfigError
from initlab.store import Store
from initlab.sweep.ray_cluster import import_ray, is_loopback

ray = pytest.importorskip("ray", reason="Ray is not installed; `pip install 'initlab[ray]'` runs these tests")

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
"""127.0.0.1, ::ffff:127.0.0.1 and ::1 as /proc/net/tcp* writes them."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_pids(group: int) -> list[int]:
    """The live (not zombie) processes of process group ``group``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            pids.append(int(proc.name))
    return pids


def stop_group(group: int) -> None:
    """SIGTERM each process of ``group`` (the head we started), then SIGKILL those left after 20 s."""
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        for pid in group_pids(group):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while group_pids(group) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not group_pids(group):
            return


def listening_beyond_loopback(group: int) -> list[str]:
    """``address:port`` of each listening TCP socket of ``group``'s processes not on loopback."""
    inodes = set()
    for pid in group_pids(group):
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    outside = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and fields[9] in inodes and address not in LOOPBACK:  # 0A: LISTEN
                outside.append(f"{address}:{int(port, 16)}")
    return outside


@pytest.fixture
def ray_head() -> Iterator[tuple[str, dict[str, str]]]:
    """A Ray head on 127.0.0.1 only, its own ports and temp dir, token authentication on; yields its
    address and the environment that holds its token (what a user's shell has)."""
    temp = Path(tempfile.mkdtemp(prefix="ilray-"))  # short: Ray's socket paths must fit in 107 bytes
    token = temp / "auth_token"
    token.write_text(uuid.uuid4().hex)
    ours = ("RAY_AUTH_MODE", "RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")  # the test sets them
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env |= {"RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0"}
    head_env = env | {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keeps the node's address on loopback
        "AUTOSCALER_METRIC_PORT": str(free_port()),
        "DASHBOARD_METRIC_PORT": str(free_port()),
    }
    port = free_port()
    ports = {
        f"--{name}": str(free_port())
        for name in (
            "ray-client-server-port",
            "dashboard-agent-listen-port",
            "dashboard-agent-grpc-port",
            "runtime-env-agent-port",
            "metrics-export-port",
        )
    }
    command = [str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    command += ["--temp-dir", str(temp / "ray"), "--include-dashboard", "false", "--num-cpus", "2"]
    command += [item for pair in ports.items() for item in pair]
    start = subprocess.Popen(
        command,
        env=head_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the head's processes are in this new group, and only they
    )
    try:
        try:
            output, _ = start.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            pytest.skip("`ray start --head` did not finish within 180 s")
        if start.returncode != 0:
            pytest.skip(f"`ray start --head` failed: {output.strip().splitlines()[-1:]}")
        outside = listening_beyond_loopback(start.pid)
        if outside:
            pytest.skip(f"Ray cannot be kept on loopback here: it listens on {', '.join(outside)}")
        assert "Token authentication is enabled" in output
        yield f"127.0.0.1:{port}", env
    finally:
        stop_group(start.pid)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1:6379", True), ("127.1.2.3:1", True), ("localhost:6379", True), ("[::1]:6379", True),
     ("192.0.2.2:6379", False), ("head.example:6379", False), ("auto", False)],
)  # fmt: skip
def test_loopback_addresses_are_recognised(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_another_ray_version_is_refused_with_the_supported_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray, "__version__", "2.49.1")
    with pytest.raises(ConfigError, match=r"executor 'ray' needs Ray 2\.60\.x, not 2\.49\.1"):
        import_ray()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the head's sockets from /proc")
def test_a_sweep_of_a_user_model_runs_on_a_ray_cluster_by_address(
    ray_head: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, env = ray_head
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLES / "my_models.py", tmp_path / "examples" / "my_models.py")
    done = subprocess.run(
        [str(BIN / "initlab"), "sweep", "run", "--set", "dataset=digits",
         "--set", "model=examples.my_models:mlp", "--set", "epochs=1", "--set", "train_size=200",
         "--axis", "seed=0..1", "--name", "on-cluster",
         "--executor", "ray", "--ray-address", address, "--store", "r.db"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2 runs: 2 finished, 0 diverged, 0 failed" in done.stdout
    with Store(tmp_path / "r.db") as store:
        runs = store.runs(sweep="on-cluster")
    assert sorted(run.seed for run in runs) == [0, 1]
    assert all(run.status == "finished" and run.model == "examples.my_models:mlp" for run in runs)
    assert all(run.config["model_source"] is not None for run in runs)
