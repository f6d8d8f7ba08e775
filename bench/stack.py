"""The processes of a bench run: the nginx stub and proxy, bridges, the bare proxy, tools.

Every process is started here on loopback, pinned with `taskset`, and stopped by its own pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
EMAIL_KEY = "eSasqNRxInEDblhZrrpyxdZqfdj5cJHoLQZoT9PMSwo="
AUTH = "Authorization: Basic ZGVtby1hcGkta2V5OmRlbW8tYXBpLXNlY3JldA=="
"""HTTP Basic demo-api-key:demo-api-secret."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


@dataclass
class Tools:
    """nginx and wrk unpacked from Debian's packages (bench/tools/ensure-nginx-wrk)."""

    root: Path

    @classmethod
    def ensure(cls) -> Tools:
        out = subprocess.run(
            [str(ROOT / "bench" / "tools" / "ensure-nginx-wrk")],
            check=True,
            capture_output=True,
            text=True,
        )
        return cls(Path(out.stdout.strip()) / "root")

    @property
    def nginx(self) -> str:
        return str(self.root / "usr" / "sbin" / "nginx")

    @property
    def wrk(self) -> list[str]:
        return [str(self.root / "usr" / "bin" / "wrk")]

    @property
    def env(self) -> dict[str, str]:
        libs = self.root / "usr" / "lib" / "x86_64-linux-gnu"
        return {**os.environ, "LD_LIBRARY_PATH": str(libs)}

    def versions(self) -> dict[str, str]:
        nginx = subprocess.run([self.nginx, "-v"], capture_output=True, text=True, check=True)
        wrk = subprocess.run([*self.wrk, "-v"], capture_output=True, text=True, env=self.env)
        return {
            "nginx": nginx.stderr.strip().split("/")[-1],
            "wrk": (wrk.stdout or wrk.stderr).split()[1],
        }


@dataclass
class Process:
    """A started process (and its children, for nginx and a multi-worker bridge)."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    extra_pids: list[int] = field(default_factory=list)

    def pids(self) -> list[int]:
        """This process and its children (nginx workers, bridge workers)."""
        found = [self.popen.pid]
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        if children.exists():
            found += [int(pid) for pid in children.read_text().split()]
        return found

    def stop(self) -> None:
        stop_all([self])


def stop_all(processes: Iterable[Process]) -> None:
    """SIGTERM to every process first, then wait for each (they shut down side by side)."""
    running = [process for process in processes if process.popen.poll() is None]
    for process in running:
        process.popen.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.popen.wait(10)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()


def cpu_ticks(pids: list[int]) -> tuple[int, int]:
    """(utime, stime) in clock ticks, summed over the processes, from /proc/<pid>/stat."""
    user = system = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11])
        system += int(fields[12])
    return user, system


def launch(
    name: str, argv: list[str], port: int, cpus: str, env: dict[str, str], log: Path
) -> Process:
    """Start a process pinned to `cpus`, without waiting for it to listen."""
    with log.open("ab") as out:
        popen = subprocess.Popen(
            ["taskset", "-c", cpus, *argv], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return Process(name, popen, port)


def ready(process: Process) -> Process:
    try:
        wait_listening(process.port, timeout=60)
    except RuntimeError:
        process.stop()
        raise RuntimeError(f"{process.name} did not start (see its log)") from None
    return process


def start(
    name: str, argv: list[str], port: int, cpus: str, env: dict[str, str], log: Path
) -> Process:
    return ready(launch(name, argv, port, cpus, env, log))


def bridge_env(work: Path, apps: Path, database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "BRIDGE_CONFIG_FILE": str(apps),
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_EMAIL_KEYS": EMAIL_KEY,
        "BRIDGE_PORT": str(port),
        "BRIDGE_LOG_FORMAT": "json",
        "HOME": str(work),
    }


def prepare_database(env: dict[str, str], log: Path) -> None:
    """Migrate a fresh database and load the bench customers and offers."""
    with log.open("ab") as out:
        for argv in (["db", "upgrade"], ["load", str(ROOT / "bench" / "data.yaml")]):
            subprocess.run(
                [str(BIN / "orders-bridge"), *argv],
                env=env,
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


def start_bridge(
    name: str, work: Path, env: dict[str, str], cpus: str, extra: list[str] | None = None
) -> Process:
    """Launch a bridge (call `ready` on it before use)."""
    port = int(env["BRIDGE_PORT"])
    argv = [str(BIN / "orders-bridge"), "serve", *(extra or [])]
    return launch(name, argv, port, cpus, env, work / f"{name}.log")


def start_bare_proxy(
    work: Path, upstream: str, cpus: str, sequence: Path | None = None, name: str = "C"
) -> Process:
    port = free_port()
    argv = [str(BIN / "python"), str(ROOT / "bench" / "proxy.py"), "--port", str(port)]
    argv += ["--upstream", upstream]
    if sequence is not None:
        argv += ["--sequence", str(sequence)]
    return start(name, argv, port, cpus, dict(os.environ), work / f"{name}.log")


def start_floor(name: str, work: Path, engine: str, database: str, cpus: str) -> Process:
    """Arms F (bench/floor.py): a local create's transaction on the raw driver."""
    port = free_port()
    argv = [str(BIN / "python"), str(ROOT / "bench" / "floor.py"), "--engine", engine]
    argv += ["--database", database, "--port", str(port)]
    return launch(name, argv, port, cpus, dict(os.environ), work / f"{name}.log")


def start_nginx(name: str, tools: Tools, conf: Path, port: int, cpus: str, work: Path) -> Process:
    argv = [tools.nginx, "-c", str(conf), "-p", str(work), "-e", str(work / f"{name}.err")]
    return start(name, argv, port, cpus, dict(os.environ), work / f"{name}.log")
