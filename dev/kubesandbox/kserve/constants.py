"""KServe and Knative names the simulator writes, as spelled in KServe's source.

Sources (kserve/kserve ``pkg/constants/constants.go`` and the reference
``kserve_stop.md`` §2-§4): the stop and disable-auto-update annotations, the
deployment-mode annotation and values, the autoscaler class, and the labels KServe
puts on every component's objects and pods.
"""

from __future__ import annotations

GROUP = "serving.kserve.io"
STOP_ANNOTATION = "serving.kserve.io/stop"
DISABLE_AUTO_UPDATE_ANNOTATION = "serving.kserve.io/disable-auto-update"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"

ISVC_LABEL = "serving.kserve.io/inferenceservice"
ISVC_FINALIZER = "inferenceservice.finalizers"
COMPONENT_LABEL = "component"
RAW_APP_LABEL = "app"
GPU_RESOURCE = "nvidia.com/gpu"

KNATIVE = "Knative"
STANDARD = "Standard"
MODELMESH = "ModelMesh"
LEGACY_NAMES = {"Serverless": KNATIVE, "RawDeployment": STANDARD}
"""KServe ≤ 0.15 names; ``ParseDeploymentMode`` maps them to the 0.16 names."""
OLD_NAMES = {KNATIVE: "Serverless", STANDARD: "RawDeployment", MODELMESH: MODELMESH}

COMPONENTS = ("predictor", "transformer", "explainer")

# Copied from the ISVC to children, except these (``ServiceAnnotationDisallowedList``).
DISALLOWED_ANNOTATIONS = frozenset({
    "autoscaling.knative.dev/min-scale",
    "autoscaling.knative.dev/max-scale",
    "internal.serving.kserve.io/storage-initializer-sourceuri",
    "kubectl.kubernetes.io/last-applied-configuration",
    "modelFormat",
})

KNATIVE_SERVICE_LABEL = "serving.knative.dev/service"
KNATIVE_CONFIGURATION_LABEL = "serving.knative.dev/configuration"
KNATIVE_REVISION_LABEL = "serving.knative.dev/revision"
KNATIVE_MIN_SCALE = "autoscaling.knative.dev/min-scale"
KNATIVE_MAX_SCALE = "autoscaling.knative.dev/max-scale"
KNATIVE_CLASS = "autoscaling.knative.dev/class"
KNATIVE_DEFAULT_TIMEOUT = 300

INGRESS_DOMAIN = "example.com"
CONFIGMAP_NAMESPACE = "kserve"
CONFIGMAP_NAME = "inferenceservice-config"
CONTROLLER_NAME = "kserve-controller-manager"
