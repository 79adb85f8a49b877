"""values.schema.json rejects bad values before anything renders, naming the field."""

from __future__ import annotations

import pytest

from tests.chart.helm import CHART, Helm, HelmFailed

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("set_value", "field"),
    [
        pytest.param("config.executor.strategy=fast", "config.executor.strategy", id="strategy"),
        pytest.param("config.tick=30 seconds", "config.tick", id="tick-duration"),
        pytest.param("database.url=mysql://db/x", "database.url", id="not-postgres"),
        pytest.param("replicaCount=0", "replicaCount", id="zero-replicas"),
        pytest.param("config.safety.massIdleFraction=1.5", "config.safety.massIdleFraction",
                     id="fraction-above-one"),
        pytest.param("kserve.namespace=Not_A_Namespace", "kserve.namespace", id="namespace"),
        pytest.param("image.pullPolicy=Sometimes", "image.pullPolicy", id="pull-policy"),
        pytest.param("service.port=70000", "service.port", id="port"),
        pytest.param("bogus=1", "bogus", id="unknown-top-level-key"),
        pytest.param("config.executor.verifyTimeoutt=5m", "verifyTimeoutt", id="typo-in-key"),
        pytest.param("policies.p.kind=Other", "policies.p", id="policy-kind"),
    ],
)
def test_template_rejects_bad_value_naming_the_field(
    helm: Helm, set_value: str, field: str
) -> None:
    with pytest.raises(HelmFailed, match="don't meet the specifications") as failure:
        helm.template(set_values=[set_value])
    assert field in str(failure.value)


def test_lint_strict_fails_on_bad_values(helm: Helm) -> None:
    result = helm.run("lint", "--strict", str(CHART), "--set", "config.executor.strategy=x")
    assert result.returncode == 1
    assert "config.executor.strategy" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "set_value",
    [
        pytest.param("replicaCount=3", id="replicas-with-postgres"),
        pytest.param("config.executor.strategy=native", id="native"),
        pytest.param("config.tick=1h30m", id="compound-duration"),
    ],
)
def test_good_values_render(helm: Helm, set_value: str) -> None:
    rendered = helm.template(set_values=[set_value, "database.existingSecret=db"])
    assert "Deployment" in rendered.kinds()
