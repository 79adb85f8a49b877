"""What a simulated cluster's KServe is: its version, default mode and pod grace."""

from __future__ import annotations

from dataclasses import dataclass

from kubesandbox.kserve import constants as k

VERSIONS = ("0.14", "0.15", "0.16", "0.17")
"""0.16 has native stop for every mode (PR #4455); "0.15" is 0.15.1/0.15.2, with stop for
Knative predictors only (PR #4337); 0.14 has none; 0.17 adds LLMInferenceService and
its stop (PR #4839) (``kserve_stop.md`` §9)."""
CONTROLLER_TAGS = {"0.14": "v0.14.1", "0.15": "v0.15.2", "0.16": "v0.16.0",
                   "0.17": "v0.17.0"}
"""The image tag of the seeded ``kserve-controller-manager``: the release each profile is."""


def parse_mode(value: str | None) -> str | None:
    """Map a mode name to its 0.16 spelling, or None when KServe would not accept it.

    KServe's ``ParseDeploymentMode`` accepts the old names too (``kserve_stop.md`` §3).
    """
    if value is None:
        return None
    if value in (k.KNATIVE, k.STANDARD, k.MODELMESH):
        return value
    return k.LEGACY_NAMES.get(value)


@dataclass(frozen=True)
class SimulatorSettings:
    """Chosen per scenario; frozen because a running controller must not see it change."""

    kserve: str = "0.16"
    default_deployment_mode: str = k.KNATIVE
    pod_termination_seconds: float | None = 1.0
    """None: each pod's own ``terminationGracePeriodSeconds`` (Raw 30 s, Knative the
    revision timeout, 300 s by default) times ``time_scale``."""
    pod_start_seconds: float = 0.0
    time_scale: float = 1.0
    """Multiplies every simulated duration (starts, graces), so tests stay fast."""
    start_seconds: tuple[tuple[str, str, float], ...] = ()
    """(namespace, ISVC, seconds its pods take to become Ready), before ``time_scale``."""
    gpu_capacity: tuple[tuple[str, int], ...] = ()
    """(node pool, GPUs); a pool not listed is unlimited."""
    node_pools: tuple[tuple[str, str, str], ...] = ()
    """(namespace, ISVC, node pool) for ISVCs not in the ``default`` pool."""
    """(namespace, ISVC, seconds its pods take to become Ready), before ``time_scale``."""
    keda_load: tuple[tuple[str, str, int], ...] = ()
    """(namespace, ScaledObject name, replicas its triggers call for)."""

    def __post_init__(self) -> None:
        if self.kserve not in VERSIONS:
            raise ValueError(f"kserve: {self.kserve!r} is not one of {', '.join(VERSIONS)}")
        if parse_mode(self.default_deployment_mode) is None:
            raise ValueError(
                f"defaultDeploymentMode: {self.default_deployment_mode!r} is not one of "
                "Knative, Standard, ModelMesh (or Serverless, RawDeployment)")
        if self.pod_termination_seconds is not None and self.pod_termination_seconds < 0:
            raise ValueError("podTerminationSeconds: must be >= 0")
        if self.pod_start_seconds < 0:
            raise ValueError("podStartSeconds: must be >= 0")
        if self.time_scale <= 0:
            raise ValueError("timeScale: must be > 0")

    @property
    def native_stop(self) -> bool:
        """Whether KServe reads the stop annotation at all (for some mode)."""
        return self.kserve != "0.14"

    @property
    def full_stop(self) -> bool:
        """0.16: every mode and component stops, disable-auto-update exists."""
        return self.kserve in ("0.16", "0.17")

    @property
    def llm(self) -> bool:
        """0.17: LLMInferenceService is reconciled (and stops)."""
        return self.kserve == "0.17"

    def stops(self, mode: str) -> bool:
        """Whether the stop annotation stops this mode's predictor."""
        return self.full_stop or (self.native_stop and mode == k.KNATIVE)

    def stops_component(self, mode: str, component: str) -> bool:
        """0.15 deletes only the predictor's ksvc; transformer and explainer keep running."""
        return self.stops(mode) and (self.full_stop or component == "predictor")

    def writes_stopped(self, mode: str) -> bool:
        """Which ISVCs carry a Stopped condition: 0.15 writes it on Knative ones only."""
        return mode != k.MODELMESH and self.stops(mode)

    @property
    def controller_image(self) -> str:
        return f"kserve/kserve-controller:{CONTROLLER_TAGS[self.kserve]}"

    @property
    def default_mode(self) -> str:
        mode = parse_mode(self.default_deployment_mode)
        assert mode is not None
        return mode

    def status_mode(self, mode: str) -> str:
        """The name written to status.deploymentMode: ≤ 0.15 predates the rename (PR #4608)."""
        return mode if self.full_stop else k.OLD_NAMES[mode]

    def autoscaler_classes(self) -> frozenset[str]:
        """Classes KServe's webhook allows (§9): 0.14 ``hpa``, ``external``; 0.15.0 adds
        ``keda``, 0.15.1 ``none`` (PR #4363); the "0.15" profile is 0.15.1/0.15.2."""
        if self.native_stop:
            return frozenset({"hpa", "external", "none", "keda"})
        return frozenset({"hpa", "external"})
