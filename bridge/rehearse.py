"""`make rehearse`: the whole cutover on one machine, to walk docs/rehearsal.md against.

Starts four processes, three of them real `orders-bridge` commands:

- the **legacy stand-in**: a bridge serving the demo app from its own local engine and
  database, playing "the legacy Orders API" (the real one cannot be run here); before the
  cutover starts it holds the demo data and a history of orders placed through it;
- the **Incentives sandbox** (`orders-bridge sandbox`);
- the **fault proxy** in front of the sandbox (bridge/sandbox/faults.py, healthy until told
  otherwise on its `/_faults`): the Incentives side's failures, on cue;
- the **bridge** under rehearsal: the demo app with `legacy_base_url` on the stand-in, its
  `incentives` block on the sandbox through the fault proxy, a policy file sending it to
  legacy, an admin token, an order id floor and a shadow store (not yet migrated: the
  runbook's step 0 does it).

Ports are free ones, or REHEARSAL_PORT, REHEARSAL_PORT+1, +2, +3 (bridge, stand-in, sandbox,
fault proxy).
Everything lives in one folder (default .data/rehearsal, emptied at start): the apps and
policy files, `data.yaml` (the demo data and eight more customers), the databases, each
process's log, `customers.txt` for the backfill and `rehearsal.env`, the settings the
runbook's commands need (`. .data/rehearsal/rehearsal.env`).
Ctrl-C (or SIGTERM) stops all four.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
EMAIL_KEY = "eSasqNRxInEDblhZrrpyxdZqfdj5cJHoLQZoT9PMSwo="  # the Makefile's demo-only key
ADMIN_TOKEN = "rehearsal-admin-token"  # noqa: S105 - a demo-only token, printed on purpose
ORDER_ID_FLOOR = 1_000_000
EXTRA_CUSTOMERS = tuple(f"customer-{n}" for n in range(1, 9))
"""Added to the demo data so that each canary step moves someone: with the app `demo`,
customer-6 is in the first 10% of buckets, customer-7 in the first 50%, the rest later."""
CUSTOMERS = ("demo-user-1", "demo-user-ca", *EXTRA_CUSTOMERS)
HISTORY: tuple[tuple[str, int, dict[str, Any]], ...] = (
    ("customer-6", 1, {"quantity": 1}),
    ("customer-7", 1, {"quantity": 3}),
    ("demo-user-1", 1, {"quantity": 1}),
    ("demo-user-1", 1, {"quantity": 2}),
    (
        "demo-user-1",
        2,
        {
            "shipping_address": {
                "addressee": "Ann Smith",
                "street1": "215 Hanover St.",
                "city": "Boston",
                "state_province": "MA",
                "country": "US",
                "postal_code": "02113",
            }
        },
    ),
    ("demo-user-ca", 3, {"challenge": {"id": 111111}}),
)
"""Orders placed on the legacy stand-in before the cutover: the history to backfill."""


@dataclass(frozen=True)
class Ports:
    bridge: int
    legacy: int
    sandbox: int
    faults: int

    @classmethod
    def choose(cls, base: str | None) -> Ports:
        if base:
            port = int(base)
            return cls(port, port + 1, port + 2, port + 3)
        return cls(*(_free_port() for _ in range(4)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


def write_data(folder: Path) -> Path:
    """The demo data file plus EXTRA_CUSTOMERS, for every process of the rehearsal."""
    data = yaml.safe_load((DEMO / "data.yaml").read_text(encoding="utf-8"))
    data["apps"]["demo"]["customers"] += [
        {"id": name, "country": "US", "registered": True, "points": 10000}
        for name in EXTRA_CUSTOMERS
    ]
    path = folder / "data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_files(folder: Path, ports: Ports) -> dict[str, str]:
    """The apps files, the policy, customers.txt and rehearsal.env; the bridge's environment."""
    apps = yaml.safe_load((DEMO / "apps-incentives.yaml").read_text(encoding="utf-8"))
    (demo,) = apps["apps"]
    demo["target"] = "legacy"
    demo["legacy_base_url"] = url(ports.legacy)
    demo["incentives"]["base_url"] = url(ports.faults)
    # Every call meets the Incentives side (no customer served from the bridge's cache), so
    # a fault turned on at the proxy fails each canary call (docs/rehearsal.md, last step).
    demo["incentives"]["customer_cache_seconds"] = 0
    (folder / "apps.yaml").write_text(yaml.safe_dump(apps, sort_keys=False), encoding="utf-8")
    (folder / "policy.yaml").write_text(
        "# The rehearsal's cutover policy (docs/rehearsal.md). Every `orders-bridge policy`\n"
        "# edit keeps this comment.\napps:\n  demo:\n    target: legacy\n",
        encoding="utf-8",
    )
    (folder / "customers.txt").write_text("\n".join(CUSTOMERS) + "\n", encoding="utf-8")
    environment = {
        "BRIDGE_CONFIG_FILE": str(folder / "apps.yaml"),
        "BRIDGE_POLICY_FILE": str(folder / "policy.yaml"),
        "BRIDGE_DATABASE_URL": sqlite(folder / "bridge.db"),
        "BRIDGE_SHADOW__DATABASE_URL": sqlite(folder / "shadow.db"),
        "BRIDGE_EMAIL_KEYS": EMAIL_KEY,
        "BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN,
        "BRIDGE_ORDER_ID_FLOOR": str(ORDER_ID_FLOOR),
        "BRIDGE_URL": url(ports.bridge),
        "LEGACY_URL": url(ports.legacy),
        "SANDBOX_URL": url(ports.sandbox),
        "FAULTS_URL": url(ports.faults),
        "REHEARSAL_DIR": str(folder),
    }
    lines = [f"export {name}='{value}'" for name, value in environment.items()]
    (folder / "rehearsal.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return environment


class Processes:
    """The rehearsal's child processes, each logging to its own file; stopped together."""

    def __init__(self, folder: Path, stack: ExitStack) -> None:
        self._folder = folder
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        stack.callback(self.stop)

    def run(self, *commands: tuple[dict[str, str], list[str]]) -> None:
        """Run commands side by side to the end; raise if one fails (its output: setup.log)."""
        log = self._folder / "setup.log"
        with log.open("ab") as output:
            running = [
                subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                    [sys.executable, "-m", "bridge", *args],
                    env=environment,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
                for environment, args in commands
            ]
            failed = [
                args for (_, args), child in zip(commands, running, strict=True) if child.wait()
            ]
        if failed:
            raise RuntimeError(f"orders-bridge {' '.join(failed[0])} failed: see {log}")

    def start(
        self, name: str, environment: dict[str, str], *args: str, module: str = "bridge"
    ) -> None:
        """Start `python -m module args` (by default an `orders-bridge` command)."""
        log = (self._folder / f"{name}.log").open("wb")
        self._children[name] = subprocess.Popen(  # noqa: S603 - our own modules, fixed arguments
            [sys.executable, "-m", module, *args],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        log.close()

    def exited(self) -> str | None:
        """The name of a child that has stopped on its own, if any."""
        return next((n for n, c in self._children.items() if c.poll() is not None), None)

    def stop(self) -> None:
        for child in self._children.values():
            if child.poll() is None:
                child.terminate()
        for child in self._children.values():
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def wait_until_up(address: str, processes: Processes) -> None:
    """Poll until `address` answers (at most 60 s), or fail if a child has stopped."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (stopped := processes.exited()) is not None:
            raise RuntimeError(f"{stopped} stopped during start-up: see its log")
        try:
            with urllib.request.urlopen(address + "/healthz", timeout=2):  # noqa: S310 - our own URL
                return
        except urllib.error.HTTPError:
            return  # it answers (the sandbox has no /healthz)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{address} did not answer within 60 s")


def place_history(legacy: str) -> None:
    """Place the HISTORY orders on the legacy stand-in (its own ids, from 1)."""
    credentials = b64encode(b"demo-api-key:demo-api-secret").decode()
    for customer, offer, order in HISTORY:
        request = urllib.request.Request(  # noqa: S310 - our own URL
            f"{legacy}/priv/v1/apps/demo-api-key/users/{customer}/offers/{offer}/orders",
            data=json.dumps({"order": order}).encode(),
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            body = answer.read()
        if b'"status":"ok"' not in body:
            raise RuntimeError(f"the stand-in refused a history order: {body[:200]!r}")


def rehearse(folder: Path, ports: Ports, stack: ExitStack) -> Processes:
    """Prepare the folder and start the three processes (stopped when `stack` closes)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "REHEARSAL"))}
    bridge = clean | write_files(folder, ports)
    legacy = clean | {
        "BRIDGE_CONFIG_FILE": str(DEMO / "apps.yaml"),
        "BRIDGE_DATABASE_URL": sqlite(folder / "legacy.db"),
        "BRIDGE_EMAIL_KEYS": EMAIL_KEY,
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(ports.legacy),
    }
    processes = Processes(folder, stack)
    data = str(write_data(folder))
    processes.run((legacy, ["db", "upgrade"]), (bridge, ["db", "upgrade"]))
    processes.run((legacy, ["load", data]), (bridge, ["load", data]))
    processes.start("legacy", legacy, "serve")
    processes.start(
        "sandbox",
        clean | {"BRIDGE_EMAIL_KEYS": EMAIL_KEY},
        *("sandbox", "--port", str(ports.sandbox), "--data", data),
        *("--database-url", sqlite(folder / "sandbox.db")),
    )
    processes.start(
        "faults",
        clean,
        *("--port", str(ports.faults), "--target", url(ports.sandbox)),
        module="bridge.sandbox.faults",
    )
    bridge |= {"BRIDGE_HOST": "127.0.0.1", "BRIDGE_PORT": str(ports.bridge)}
    processes.start("bridge", bridge, "serve")
    wait_until_up(url(ports.legacy), processes)
    place_history(url(ports.legacy))
    wait_until_up(url(ports.sandbox), processes)
    wait_until_up(url(ports.faults), processes)
    wait_until_up(url(ports.bridge), processes)
    return processes


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.rehearse", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=Path(".data/rehearsal"), help="working folder (emptied)"
    )
    args = parser.parse_args(argv)
    ports = Ports.choose(os.environ.get("REHEARSAL_PORT"))
    folder = args.dir.resolve()
    print(f"rehearsal in {args.dir}: bridge {url(ports.bridge)}", flush=True)
    print(f"  legacy stand-in {url(ports.legacy)}, sandbox {url(ports.sandbox)}", flush=True)
    print(f"  fault proxy {url(ports.faults)} (the bridge's way to the sandbox)", flush=True)
    with ExitStack() as stack, _stopped_by_sigterm():
        try:
            processes = rehearse(folder, ports, stack)
            print(f"ready: . {args.dir}/rehearsal.env, then docs/rehearsal.md", flush=True)
            print("Ctrl-C stops the four processes", flush=True)
            while (stopped := processes.exited()) is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        except (RuntimeError, OSError) as exc:
            print(f"rehearsal: {exc}", file=sys.stderr)
            return 1
    print(f"rehearsal: {stopped} stopped: see {args.dir}/{stopped}.log", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
