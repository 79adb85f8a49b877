"""Distributed Prometheus (issue 20 item 2): partial answers, headers, token, TLS.

A real Prometheus 2.42 sits behind the test proxy (`tests.signals.proxy`), which adds
``warnings`` to answers the way Thanos Query and Mimir do on partial responses, records
the headers each query arrived with, and serves HTTPS with a CA made in the test.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reclaimer.errors import MetricsUnavailable, PartialAnswer
from reclaimer.model import ServiceRef, SignalState
from reclaimer.policy.matching import governed
from reclaimer.service.observe import gather_signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.policy.decide_builders import idle_only, svc
from tests.signals.certs import Certificates, make_ca, make_server_certificates
from tests.signals.proxy import Injection, counting_proxy
from tests.signals.scenarios import AT, WINDOW

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
STORE_DOWN = "receive-eu-1: rpc error: code = Unavailable desc = store unavailable"
SERVICES = [ServiceRef("knative", "steady"), ServiceRef("knative", "mig")]


def _source(url: str, calls: list[str] | None = None, **config: Any) -> PrometheusSignals:
    settings = PrometheusSettings.from_mapping({"url": url, "concurrency": 1, **config})
    if calls is None:
        return PrometheusSignals(settings)
    return PrometheusSignals(settings, on_partial=calls.append)


def _gather(source: PrometheusSignals) -> dict[ServiceRef, tuple[SignalState, str | None]]:
    policy = replace(idle_only(), namespace="knative")
    services = [replace(svc(ref.name), ref=ref) for ref in SERVICES]
    try:
        gathered = gather_signals(source, governed([policy], services), now=AT)
    finally:
        source.close()
    return {ref: (s.state, s.reason) for ref, s in gathered.by_service.items()}


def test_answers_without_warnings_are_known(scenario_prometheus: str) -> None:
    """The control: through the proxy, the same services are known."""
    with counting_proxy(scenario_prometheus) as (url, _):
        states = _gather(_source(url))
    assert {state for state, _ in states.values()} == {SignalState.KNOWN}


@pytest.mark.parametrize("when", [
    pytest.param("", id="every-query"),
    pytest.param("DCGM_FI_DEV_GPU_UTIL", id="only-the-gpu-queries"),
])
def test_partial_answer_makes_every_service_unknown(scenario_prometheus: str,
                                                    when: str) -> None:
    inject = Injection(warnings=(STORE_DOWN,), when=when)
    with counting_proxy(scenario_prometheus, inject=inject) as (url, _):
        states = _gather(_source(url))
    assert set(states) == set(SERVICES)
    for state, reason in states.values():
        assert state is SignalState.UNKNOWN
        assert reason is not None and "partial answer" in reason and STORE_DOWN in reason


def test_partial_answer_names_its_query_and_is_counted(scenario_prometheus: str) -> None:
    calls: list[str] = []
    inject = Injection(warnings=(STORE_DOWN, "second warning"), when="DCGM_FI_DEV_GPU_UTIL")
    with counting_proxy(scenario_prometheus, inject=inject) as (url, _):
        source = _source(url, calls)
        with pytest.raises(PartialAnswer, match="second warning") as caught:
            source.fetch(at=AT, window=WINDOW)
    assert caught.value.warnings == (STORE_DOWN, "second warning")
    assert calls == [caught.value.query]
    assert caught.value.query in str(caught.value)


def test_headers_and_bearer_token_reach_the_server(scenario_prometheus: str,
                                                   tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    config = {"headers": {"X-Scope-OrgID": "team-a"}, "bearerTokenFile": str(token)}
    with counting_proxy(scenario_prometheus) as (url, traffic):
        _source(url, **config).fetch(at=AT, window=WINDOW)
    assert traffic.queries() == 7
    assert {h.get("X-Scope-OrgID") for h in traffic.headers} == {"team-a"}
    assert {h.get("Authorization") for h in traffic.headers} == {"Bearer s3cret"}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_server_certificates(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("tls", [
    pytest.param("caFile", id="ca-made-in-the-test"),
    pytest.param("insecureSkipVerify", id="insecure-skip-verify"),
])
def test_https_to_the_proxy_works(scenario_prometheus: str, certificates: Certificates,
                                  tls: str) -> None:
    settings: dict[str, Any] = ({"caFile": str(certificates.ca)} if tls == "caFile"
                                else {"insecureSkipVerify": True})
    served = (certificates.cert, certificates.key)
    with counting_proxy(scenario_prometheus, tls=served) as (url, traffic):
        result = _source(url, tls=settings).fetch(at=AT, window=WINDOW)
    assert url.startswith("https://")
    assert traffic.queries() == 7 and SERVICES[0] in result


@pytest.mark.parametrize(("ca", "reason"), [
    pytest.param("other-ca", "certificate verify failed", id="wrong-ca"),
    pytest.param("missing", "invalid path", id="missing-ca-file"),
])
def test_bad_ca_is_one_clear_error(scenario_prometheus: str, certificates: Certificates,
                                   tmp_path: Path, ca: str, reason: str) -> None:
    ca_file = make_ca(tmp_path, ca)[0] if ca != "missing" else tmp_path / "missing.crt"
    served = (certificates.cert, certificates.key)
    with counting_proxy(scenario_prometheus, tls=served) as (url, traffic):
        source = _source(url, tls={"caFile": str(ca_file)})
        with pytest.raises(MetricsUnavailable) as caught:
            source.fetch(at=AT, window=WINDOW)
    message = str(caught.value)
    assert re.match(r"^\w+ query failed: TLS: ", message) and reason in message
    assert message.endswith("(check prometheus.tls)") and "\n" not in message
    assert traffic.queries() == 0
