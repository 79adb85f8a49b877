"""Services named on the command line as kubectl names objects (issue 15): ``NS/NAME`` is
an InferenceService, ``KIND/NS/NAME`` any kind; a wrong kind is one line naming it."""

from __future__ import annotations

import pytest

from reclaimer.cli import main
from reclaimer.cli.refs import parse_kind, parse_ref
from reclaimer.errors import ArgumentInvalid
from reclaimer.model import ServiceKind, ServiceRef

LLM, GRAPH = ServiceKind.LLM_INFERENCE_SERVICE, ServiceKind.INFERENCE_GRAPH


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("team-a/llama", ServiceRef("team-a", "llama"), id="bare-is-isvc"),
    pytest.param("isvc/team-a/llama", ServiceRef("team-a", "llama"), id="isvc-short"),
    pytest.param("llmisvc/team-a/chat", ServiceRef("team-a", "chat", LLM), id="llmisvc-short"),
    pytest.param("LLMInferenceService/team-a/chat", ServiceRef("team-a", "chat", LLM),
                 id="kind-name"),
    pytest.param("llminferenceservices/team-a/chat", ServiceRef("team-a", "chat", LLM),
                 id="plural"),
    pytest.param("ig/team-a/flow", ServiceRef("team-a", "flow", GRAPH), id="ig-short"),
    pytest.param("inferencegraph/team-a/flow", ServiceRef("team-a", "flow", GRAPH),
                 id="singular"),
])
def test_a_ref_names_its_kind_as_kubectl_does(text: str, expected: ServiceRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("ref", [
    pytest.param(ServiceRef("team-a", "llama"), id="isvc"),
    pytest.param(ServiceRef("team-a", "chat", LLM), id="llmisvc"),
    pytest.param(ServiceRef("team-a", "flow", GRAPH), id="ig"),
])
def test_a_printed_ref_reads_back(ref: ServiceRef) -> None:
    assert parse_ref(str(ref)) == ref


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("deploy/team-a/x", "NS/NAME: unknown kind 'deploy' in 'deploy/team-a/x' "
                 "(one of isvc, llmisvc, ig", id="unknown-kind"),
    pytest.param("llama", "NS/NAME: 'llama' is not namespace/name", id="no-slash"),
    pytest.param("a/b/c/d", "NS/NAME: 'a/b/c/d' is not namespace/name", id="four-parts"),
    pytest.param("ig/Team-A/flow", "NS/NAME: 'ig/Team-A/flow' is not namespace/name in "
                 "lower-case DNS labels", id="upper-case"),
])
def test_a_bad_ref_is_one_line_naming_the_argument(text: str, message: str) -> None:
    with pytest.raises(ArgumentInvalid) as raised:
        parse_ref(text)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_an_unknown_kind_flag_is_named() -> None:
    with pytest.raises(ArgumentInvalid, match=r"^--kind: unknown kind 'pods'"):
        parse_kind("pods")


@pytest.mark.parametrize("argv", [
    pytest.param(["stop", "deploy/team-a/x"], id="stop"),
    pytest.param(["start", "po/team-a/x"], id="start"),
    pytest.param(["hold", "svc/team-a/x", "--until", "2h", "--reason", "r", "--no-check"],
                 id="hold"),
    pytest.param(["release", "cm/team-a/x"], id="release"),
    pytest.param(["history", "--kind", "deployment"], id="history"),
])
def test_every_verb_refuses_an_unknown_kind_in_one_line(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "unknown kind" in err and len(err.strip().splitlines()) == 1


def test_the_owners_api_is_not_asked_about_other_kinds(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", "llmisvc/team-a/chat", "--server", "http://127.0.0.1:1",
                 "--token", "t"]) == 1
    assert "owners' API serves InferenceServices only" in capsys.readouterr().err
