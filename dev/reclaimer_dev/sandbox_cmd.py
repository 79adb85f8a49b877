"""`reclaimer sandbox`: the sandbox cluster on its own, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

from reclaimer.errors import ArgumentInvalid

if TYPE_CHECKING:
    from kubesandbox.world import World

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="run the sandbox Kubernetes API with its KServe simulator",
        description="Serve a simulated Kubernetes API with KServe/Knative behaviour on "
                    "127.0.0.1:PORT until SIGTERM or Ctrl-C.")
    parser.add_argument("--port", default="0",
                        help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--scenario", metavar="FILE",
                        help="scenario YAML (kserve version, namespaces, ISVCs, objects)")
    parser.add_argument("--kubeconfig-out", metavar="FILE",
                        help="also write a kubeconfig for the sandbox to FILE")
    parser.set_defaults(handler=run)


def port_number(text: str) -> int:
    """A TCP port, 0 meaning a free one."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ArgumentInvalid(f"--port: {text!r} is not a TCP port (0 to 65535; 0 = any free)")
    return number


def run(args: argparse.Namespace) -> int:
    from kubesandbox.scenario import Scenario, ScenarioInvalid, load_scenario  # noqa: PLC0415
    from kubesandbox.world import World  # noqa: PLC0415
    from reclaimer.policy.crd import crd  # noqa: PLC0415 - only this verb needs these

    port = port_number(args.port)
    try:
        scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    except ScenarioInvalid as exc:
        raise ArgumentInvalid(f"--scenario: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ArgumentInvalid(f"--scenario: {args.scenario}: not a UTF-8 text file") from exc
    _check_writable(args.kubeconfig_out)
    # The ReclaimPolicy CRD first, so `kubectl get rp -A` works and a scenario may hold
    # ReclaimPolicy objects.
    scenario = replace(scenario, objects=(crd(), *scenario.objects))
    try:
        world = World.start(port=port, scenario=scenario)
    except OSError as exc:
        raise ArgumentInvalid(f"--port {args.port}: cannot listen on 127.0.0.1: "
                              f"{exc.strerror or exc}") from exc
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _announce(world, args.kubeconfig_out)
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        world.stop()
    print("sandbox stopped", flush=True)
    return EXIT_OK


def _check_writable(path: str | None) -> None:
    """Refuse an unwritable --kubeconfig-out before the server starts."""
    if path is None:
        return
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        raise ArgumentInvalid(f"--kubeconfig-out: cannot write {path}: "
                              f"{exc.strerror or exc}") from exc


def _announce(world: World, kubeconfig_out: str | None) -> None:
    print(f"sandbox listening on {world.url}", flush=True)
    if kubeconfig_out:
        with open(kubeconfig_out, "w") as out:
            out.write(world.kubeconfig())
        print(f"kubeconfig written: export KUBECONFIG={kubeconfig_out}", flush=True)
    else:
        print(f"kubectl: kubectl --server={world.url} --validate=false get isvc -A", flush=True)
    sys.stdout.flush()
