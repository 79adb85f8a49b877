"""The rules' heartbeat under a live Prometheus 2.42 ruler (review r-rules5).

``promtool test rules`` stops at the first failed rule and the backfill
(``create-blocks-from rules``) fails a rule over a whole range, so neither shows what
a live group does when one rule fails at some evaluations: Prometheus logs it, writes
nothing for that rule (no stale marker either: its previous evaluation stays in the
lookback), and goes on with the others. Here Prometheus scrapes a one-service fleet
every second and evaluates the chart's knative/dcgm rules every 2 s (the interval
matters to none of the heartbeat's checks, the pod map's 120 s aside) with a sample
``limit`` of 2 on the signals group: while a second GPU device is scraped, the device
rule returns three series and fails ("exceeded limit").
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from reclaimer.signals import rules
from tests.fixtures.prometheus import PROMETHEUS, _wait_ready, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
POD = 'namespace="ml",pod="llama-a"'
FLEET = [f'kube_pod_labels{{{POD},label_serving_kserve_io_inferenceservice="llama"}} 1',
         f'kube_pod_container_resource_requests{{{POD},container="c",resource="nvidia_com_gpu",'
         'unit="integer"} 1',
         f'kube_pod_status_phase{{{POD},phase="Running"}} 1',
         f'DCGM_FI_DEV_GPU_UTIL{{{POD},gpu="0",UUID="GPU-0"}} 40']
SECOND_DEVICE = f'DCGM_FI_DEV_GPU_UTIL{{{POD},gpu="1",UUID="GPU-1"}} 40'


SECOND_POD = ('kube_pod_labels{namespace="ml",pod="llama-b",'
              'label_serving_kserve_io_inferenceservice="llama"} 1')


class Exporter:
    """The fleet's metrics; ``second`` adds ``extra`` while set."""

    def __init__(self, extra: str = SECOND_DEVICE) -> None:
        self.second = threading.Event()
        self.began = time.time()
        self.extra = extra

    def text(self) -> str:
        count = int((time.time() - self.began) * 6)
        lines = [*FLEET, 'revision_app_request_count{namespace_name="ml",'
                         f'service_name="llama-predictor"}} {count}']
        return "\n".join([*lines, *([self.extra] if self.second.is_set() else []), ""])


@contextmanager
def _exporter(exporter: Exporter) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exporter.text().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _ruler(tmp_path: Path, target: str, *, limited: str = rules.GROUP) -> Iterator[str]:
    """The chart's knative/dcgm rules every 2 s, ``limited``'s group at 2 series a rule,
    the pod map's 120 s (two runs of a minute) scaled to two runs of 2 s."""
    if not PROMETHEUS.exists():
        pytest.skip("REAL PROMETHEUS MISSING: /usr/bin/prometheus absent")
    groups = rules.rule_groups(requests="knative", gpu="dcgm")
    for group in groups["groups"]:
        group["interval"] = "2s"
        if group["name"] == limited:
            group["limit"] = 2
        for rule in group["rules"]:
            rule["expr"] = rule["expr"].replace(
                f"time() - {rules.POD_MAP_FRESH_SECONDS}", "time() - 4")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False, width=10_000))
    (tmp_path / "prom.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "2s"},
        "rule_files": [str(tmp_path / "rules.yaml")],
        "scrape_configs": [{"job_name": "fleet", "static_configs": [{"targets": [target]}]}]}))
    port = free_port()
    url, log = f"http://127.0.0.1:{port}", tmp_path / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={tmp_path / 'prom.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=out, stderr=out)
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _stamps(url: str, selector: str) -> set[float]:
    """Timestamps of every sample ``selector`` matched in the last 5 minutes."""
    query = urllib.parse.urlencode({"query": f"{selector}[5m]"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=10) as answer:
        result = json.loads(answer.read())["data"]["result"]
    return {float(t) for series in result for t, _ in series["values"]}


def test_a_live_rule_failing_at_some_evaluations_withholds_the_heartbeat_exactly_there(
        tmp_path: Path) -> None:
    """12 s healthy, 10 s with the second device (the device rule fails), 12 s healthy.
    Evaluations without a heartbeat (about five), none vouched whose device data or GPUs
    held are missing (what the recorded mode would read), and the heartbeat back after."""
    exporter = Exporter()
    with _exporter(exporter) as target, _ruler(tmp_path, target) as url:
        time.sleep(12)
        exporter.second.set()
        time.sleep(10)
        exporter.second.clear()
        time.sleep(12)
        evaluations = _stamps(url, rules.RULES_STARTED)
        beats = _stamps(url, rules.RULES_EVALUATED)
        devices = _stamps(url, rules.data(rules.GPU_DEVICE_PRESENT))
        held = _stamps(url, rules.data(rules.POD_GPUS_HELD))
    # From the first evaluation that saw the fleet (before the first scrape, the rules
    # rightly vouch for an empty answer).
    seen = {t for t in evaluations if devices and t >= min(devices)}
    withheld, vouched = sorted(seen - beats), seen & beats
    assert (len(withheld) >= 3, sorted(vouched - devices), sorted(vouched - held),
            max(evaluations) in beats) == (True, [], [], True), (withheld, sorted(beats))


def test_a_live_pod_map_failing_withholds_the_heartbeat_within_two_of_its_runs(
        tmp_path: Path) -> None:
    """``limit: 2`` on the pods group: a second pod listed from 12 s on keeps the pod
    map at three series (two pods and its marker), so it fails at every run from then.
    The signals group reads the last pod map it wrote (the lookback) and vouches while
    that is at most two runs old, then never again: at most two evaluations vouched
    after the pod map's last write (the phases of the two groups differ), none later."""
    exporter = Exporter(SECOND_POD)
    with _exporter(exporter) as target, _ruler(tmp_path, target,
                                               limited=rules.PODS_GROUP) as url:
        time.sleep(12)
        exporter.second.set()
        time.sleep(14)
        evaluations = _stamps(url, rules.RULES_STARTED)
        beats = _stamps(url, rules.RULES_EVALUATED)
        pod_map = _stamps(url, rules.marker(rules.ISVC_POD))
    last_map = max(pod_map)
    later = sorted(t for t in evaluations if t > last_map)
    vouched_later = [t for t in later if t in beats]
    assert (len(later) >= 5, len(vouched_later) <= 2,
            all(t - last_map <= 4 for t in vouched_later),
            any(t in beats for t in evaluations if t < last_map)) == (True, True, True, True), (
        last_map, later, sorted(beats))
