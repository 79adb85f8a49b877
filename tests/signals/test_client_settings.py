"""``prometheus.headers`` and ``prometheus.tls``: parsed, one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reclaimer.config import load_settings
from reclaimer.errors import ConfigInvalid
from reclaimer.signals.client_settings import TlsSettings
from reclaimer.signals.settings import PrometheusSettings


@pytest.mark.parametrize(("data", "headers"), [
    pytest.param({"headers": {"X-Scope-OrgID": "team-a"}}, {"X-Scope-OrgID": "team-a"},
                 id="mapping"),
    pytest.param({"headers": "X-Scope-OrgID=team-a, X-Extra=1"},
                 {"X-Scope-OrgID": "team-a", "X-Extra": "1"}, id="flat-env-string"),
    pytest.param({}, {}, id="none"),
])
def test_headers_are_parsed(data: dict[str, Any], headers: dict[str, str]) -> None:
    assert dict(PrometheusSettings.from_mapping(data).headers) == headers


@pytest.mark.parametrize(("data", "tls"), [
    pytest.param({"tls": {"caFile": "/ca.crt"}}, TlsSettings(ca_file="/ca.crt"), id="ca"),
    pytest.param({"caFile": "/ca.crt"}, TlsSettings(ca_file="/ca.crt"), id="older-caFile"),
    pytest.param({"tls": {"insecureSkipVerify": "true"}},
                 TlsSettings(insecure_skip_verify=True), id="insecure"),
    pytest.param({"tls": {"certFile": "/c.crt", "keyFile": "/c.key"}},
                 TlsSettings(cert_file="/c.crt", key_file="/c.key"), id="client-certificate"),
    pytest.param({"tls": {"caFile": "/file"}, "tlsCaFile": "/env"},
                 TlsSettings(ca_file="/env"), id="flat-env-spelling-wins"),
])
def test_tls_is_parsed(data: dict[str, Any], tls: TlsSettings) -> None:
    assert PrometheusSettings.from_mapping(data).tls == tls


@pytest.mark.parametrize(("data", "key"), [
    pytest.param({"headers": ["X-Scope-OrgID"]}, "prometheus.headers", id="headers-list"),
    pytest.param({"headers": {"X Scope": "a"}}, "prometheus.headers.X Scope",
                 id="bad-header-name"),
    pytest.param({"headers": {"X-Scope-OrgID": "a\nb"}}, "prometheus.headers.X-Scope-OrgID",
                 id="newline-in-value"),
    pytest.param({"headers": {"X-Scope-OrgID": ""}}, "prometheus.headers.X-Scope-OrgID",
                 id="empty-value"),
    pytest.param({"headers": {"Authorization": "Bearer x"}},
                 "prometheus.headers.Authorization", id="authorization-header"),
    pytest.param({"headers": "X-Scope-OrgID"}, "prometheus.headers", id="env-without-equals"),
    pytest.param({"tls": "on"}, "prometheus.tls", id="tls-not-a-mapping"),
    pytest.param({"tls": {"caFiel": "/ca"}}, "prometheus.tls.caFiel", id="tls-typo"),
    pytest.param({"tls": {"insecureSkipVerify": "maybe"}},
                 "prometheus.tls.insecureSkipVerify", id="not-a-flag"),
    pytest.param({"tls": {"keyFile": "/k"}}, "prometheus.tls.keyFile", id="key-without-cert"),
    pytest.param({"tls": {"caFile": "/ca", "insecureSkipVerify": True}},
                 "prometheus.tls.insecureSkipVerify", id="ca-and-insecure"),
    pytest.param({"tls": {"certFile": ""}}, "prometheus.tls.certFile", id="empty-path"),
])
def test_bad_client_setting_names_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        PrometheusSettings.from_mapping(data)
    assert caught.value.key == key
    assert "\n" not in str(caught.value)


def test_environment_spellings_reach_the_client_settings(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text("prometheus:\n  tls: {caFile: /from-file}\n"
                           "  headers: {X-Scope-OrgID: from-file}\n")
    config = load_settings(config_file, env={
        "RECLAIMER_PROMETHEUS_HEADERS": "X-Scope-OrgID=team-b",
        "RECLAIMER_PROMETHEUS_TLS_CA_FILE": "/from-env",
        "RECLAIMER_PROMETHEUS_BEARER_TOKEN_FILE": "/token"})
    settings = PrometheusSettings.from_mapping(config.prometheus)
    assert (dict(settings.headers), settings.tls.ca_file, settings.bearer_token_file) == (
        {"X-Scope-OrgID": "team-b"}, "/from-env", "/token")
