"""The Kubernetes manifests in k8s/: every overlay renders and validates, offline.

Each overlay is rendered with k8s/render.py (the kustomize subset the manifests use) and every
object is validated against the strict Kubernetes JSON schemas (unknown fields are errors).
On top of that, the project's own rules: locked-down pods, probes and resources everywhere,
enough time to drain, no secret values in git, default-deny networking, and containers given
exactly the settings their service reads.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cets.common.tls import is_loopback
from cets.core.errors import ConfigError
from cets.federation import config as federation_config
from cets.gateway import config as gateway_config
from cets.search import config as node_config

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.30"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
CETS_IMAGE_USER = 10001
Obj = dict[str, Any]


@functools.cache
def renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cets_k8s_render", K8S / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def _rendered(directory: Path) -> tuple[Obj, ...]:
    return tuple(renderer().render(directory))


@pytest.fixture(params=OVERLAYS, ids=lambda p: p.name)
def objects(request: pytest.FixtureRequest) -> list[Obj]:
    """A fresh copy of every object one overlay renders."""
    return copy.deepcopy(list(_rendered(request.param)))


def pods(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(workload, pod spec) for every object that runs pods."""
    for obj in objects:
        spec = renderer().pod_spec(obj)
        if spec is not None:
            yield obj, spec


def service_of(container: Obj) -> str | None:
    """Which cets command a container runs: node, federation, gateway, ingest; else None."""
    if container.get("command") or not container["image"].split("/")[-1].startswith("cets"):
        return None
    args = container.get("args") or []
    if args[:2] in (["node", "serve"], ["federation", "serve"], ["gateway", "serve"]):
        return str(args[0])
    if args[:1] == ["ingest"]:
        return "ingest"
    raise AssertionError(f"container {container['name']} runs an unknown command {args}")


def config_maps(objects: list[Obj]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: o.get("data") or {} for o in objects if o["kind"] == "ConfigMap"}


def env_value(entry: Obj, objects: list[Obj]) -> str | None:
    """An env entry's value: literal, or looked up in a rendered ConfigMap; None if secret."""
    if "value" in entry:
        return str(entry["value"])
    ref = entry["valueFrom"].get("configMapKeyRef")
    if ref is None:
        return None
    return config_maps(objects)[ref["name"]][ref["key"]]


# --- the overlays render and validate ---------------------------------------------------------


def test_the_overlays_an_agency_and_a_coordinator_need_exist() -> None:
    assert {p.name for p in OVERLAYS} >= {"agency", "coordinator", "example-tps"}


def test_every_object_validates_against_the_kubernetes_schemas(objects: list[Obj]) -> None:
    assert objects
    assert renderer().validate(objects, KUBERNETES_VERSION) == []


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda sts: sts["spec"].__setitem__("replicas", "two"), "'two' is not of type"),
        (
            lambda sts: sts["spec"]["template"]["spec"]["containers"][0].__setitem__(
                "imagePullPolicyy", "Always"
            ),
            "'imagePullPolicyy' was unexpected",
        ),
        (lambda sts: sts["spec"].pop("selector"), "'selector' is a required property"),
        (
            lambda sts: sts["spec"]["template"]["metadata"]["labels"].__setitem__(
                "app.kubernetes.io/component", "other"
            ),
            "selector does not match its pod template",
        ),
        (
            lambda sts: sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].append(
                {"name": "missing", "mountPath": "/missing"}
            ),
            "mounts undeclared missing",
        ),
        (
            lambda sts: sts["spec"]["template"]["spec"]["volumes"].append(
                {"name": "stray", "secret": {"secretName": "cets-not-documented"}}
            ),
            "Secret/cets-not-documented is used but neither rendered nor documented",
        ),
    ],
    ids=["wrong-type", "unknown-field", "missing-field", "selector", "volume", "secret"],
)
def test_a_broken_manifest_fails_the_check(break_it: Any, expected: str) -> None:
    objects = copy.deepcopy(list(_rendered(K8S / "overlays" / "example-tps")))
    node = next(
        o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "cets-node"
    )
    break_it(node)
    problems = renderer().validate(objects, KUBERNETES_VERSION)
    assert any(expected in p for p in problems), problems


def test_the_check_command_fails_on_a_broken_overlay(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n"
    )
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - broken.yaml\n"
    )
    assert renderer().main(["--check", str(tmp_path)]) == 1
    assert renderer().main(["--check", *map(str, OVERLAYS)]) == 0


def test_kustomization_fields_outside_the_rendered_subset_are_errors(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonLabels:\n  a: b\n"
    )
    with pytest.raises(renderer().RenderError, match="commonLabels"):
        renderer().render(tmp_path)


def test_strategic_merge_and_json_patches_behave_like_kustomize(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {
                    "containers": [
                        {"name": "a", "image": "cets:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "b", "image": "cets:1", "env": [{"name": "B", "value": "1"}]},
                    ]
                },
            }
        )
    )
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": "ns",
                "resources": ["d.yaml"],
                "images": [{"name": "cets", "newName": "registry.example/cets", "newTag": "2"}],
                "patches": [
                    {
                        "patch": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                        "  containers:\n  - name: b\n    env: [{name: C, value: '2'}]\n"
                        "  - {name: a, $patch: delete}\n"
                    },
                    {
                        "target": {"kind": "Pod"},
                        "patch": "- {op: replace, path: /spec/containers/0/env/1/value, value: '3'}",
                    },
                ],
            }
        )
    )
    (pod,) = renderer().render(tmp_path)
    assert pod["metadata"]["namespace"] == "ns"
    assert pod["spec"]["containers"] == [
        {
            "name": "b",
            "image": "registry.example/cets:2",
            "env": [{"name": "C", "value": "2"}, {"name": "B", "value": "3"}],
        }
    ]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_the_renderer_gives_what_kubectl_kustomize_gives(overlay: Path) -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True
    )
    expected = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert list(_rendered(overlay)) == expected


def test_rendered_yaml_reads_back_as_the_same_objects() -> None:
    objects = list(_rendered(K8S / "overlays" / "example-tps"))
    assert [d for d in yaml.safe_load_all(renderer().dump(objects)) if d] == objects


# --- what every pod must do ---------------------------------------------------------------


def test_every_pod_and_container_is_locked_down(objects: list[Obj]) -> None:
    for workload, spec in pods(objects):
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        pod = spec.get("securityContext") or {}
        assert pod.get("runAsNonRoot") is True, where
        assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        assert spec.get("automountServiceAccountToken") is False, where
        assert spec.get("enableServiceLinks") is False, where  # no injected CETS_*_PORT=tcp://
        assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), where
        for container in renderer().containers(workload):
            context = container.get("securityContext") or {}
            name = f"{where} {container['name']}"
            assert context.get("runAsNonRoot") is True, name
            assert context.get("runAsUser", pod.get("runAsUser")) not in (None, 0), name
            assert context.get("readOnlyRootFilesystem") is True, name
            assert context.get("allowPrivilegeEscalation") is False, name
            assert context.get("capabilities") == {"drop": ["ALL"]}, name
            assert not context.get("privileged"), name
            assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, name
            if container["image"].split("/")[-1].startswith("cets"):
                assert context["runAsUser"] == pod["runAsUser"] == CETS_IMAGE_USER, name


def test_every_container_has_requests_limits_and_long_running_ones_probes(
    objects: list[Obj],
) -> None:
    for workload, spec in pods(objects):
        for container in renderer().containers(workload):
            name = f"{workload['metadata']['name']} {container['name']}"
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind) or {}), f"{name}: {kind}"
        if workload["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}:
            for container in spec["containers"]:
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    assert probe in container, f"{workload['metadata']['name']}: {probe}"


def test_cets_services_are_probed_over_grpc_on_their_health_only_listener(
    objects: list[Obj],
) -> None:
    probed = set()
    for workload, spec in pods(objects):
        for container in spec["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            listen = [v for k, v in env.items() if k.endswith("_HEALTH_LISTEN")]
            if not listen:
                continue
            port = int(str(listen[0]).rsplit(":", 1)[1])
            assert {"name": "health", "containerPort": port, "protocol": "TCP"} in container[
                "ports"
            ]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[probe]["grpc"]["port"] == port, (workload["metadata"], probe)
            assert container["readinessProbe"]["grpc"].get("service", "") == ""
            assert container["livenessProbe"]["grpc"]["service"] == "liveness"
            probed.add(workload["metadata"]["name"])
    assert "cets-federation" in probed  # and cets-node, where an agency runs one


def test_pods_have_time_to_finish_in_flight_requests(objects: list[Obj]) -> None:
    defaults: dict[str, float] = {
        "node": inspect.signature(node_config.NodeConfig).parameters["grace_s"].default,
        "federation": inspect.signature(federation_config.FederationConfig)
        .parameters["grace_s"]
        .default,
    }
    gateway_source = (ROOT / "services/gateway/cets/gateway/server.py").read_text()
    match = re.search(r"timeout_graceful_shutdown=(\d+)", gateway_source)
    assert match, "the gateway's graceful shutdown time"
    fixed = {"gateway": float(match.group(1))}
    variables = {"node": "CETS_NODE_GRACE_S", "federation": "CETS_FEDERATION_GRACE_S"}
    checked = 0
    for workload, spec in pods(objects):
        for container in spec["containers"]:
            service = service_of(container)
            if service not in {"node", "federation", "gateway"}:
                continue
            grace = fixed.get(service) or defaults[service]
            for entry in container.get("env") or []:
                if entry["name"] == variables.get(service):
                    grace = float(env_value(entry, objects) or grace)
            period = spec.get("terminationGracePeriodSeconds", 30)
            assert period >= grace + 5, f"{workload['metadata']['name']}: {period} s"
            checked += 1
    assert checked


def test_services_and_pod_disruption_budgets_and_autoscalers_cover_every_service(
    objects: list[Obj],
) -> None:
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    services = {
        service_of(c): w
        for w, spec in pods(objects)
        for c in spec["containers"]
        if service_of(c) in {"node", "federation", "gateway"}
    }
    assert set(services) >= {"federation", "gateway"}
    for workload in services.values():
        name = workload["metadata"]["name"]
        for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert (kind, name) in names, f"{kind} for {name}"
        assert "replicas" not in workload["spec"], f"{name}: the autoscaler sets replicas"
        # Each replica keeps its own audit log on its own volume.
        claims = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        container = workload["spec"]["template"]["spec"]["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        logs = [e["value"] for e in container["env"] if e["name"].endswith("AUDIT_LOG")]
        assert logs, name
        for log in logs:
            assert any(log.startswith(p + "/") and mounts[p] in claims for p in mounts), log


# --- secrets ----------------------------------------------------------------------------------


PRIVATE_MATERIAL = re.compile(r"PRIVATE KEY|\$2[aby]\$\d\d\$|://[^/\s:@]+:[^/\s@]+@")


def test_no_secret_values_are_kept_in_git(objects: list[Obj]) -> None:
    for obj in objects:
        if obj["kind"] == "Secret":  # only templates are allowed: placeholders, no values
            for value in {**obj.get("data", {}), **obj.get("stringData", {})}.values():
                assert str(value).startswith("REPLACE-WITH-"), obj["metadata"]["name"]
        assert not PRIVATE_MATERIAL.search(yaml.safe_dump(obj)), obj["metadata"]["name"]


def test_no_private_keys_or_passwords_are_in_the_deployment_files() -> None:
    for path in K8S.rglob("*"):
        if path.is_file() and path.suffix in {".yaml", ".json", ".pub", ".toml", ".key", ".pem"}:
            assert not PRIVATE_MATERIAL.search(path.read_text()), path


def test_the_secrets_and_configmaps_an_agency_creates_are_documented() -> None:
    guide = (K8S / "README.md").read_text()
    used: set[tuple[str, str]] = set()
    for overlay in OVERLAYS:
        objects = list(_rendered(overlay))
        rendered = {(o["kind"], o["metadata"]["name"]) for o in objects}
        used |= renderer().references(objects) - rendered
    assert used <= renderer().EXTERNAL
    for kind, name in sorted(renderer().EXTERNAL):
        command = "create secret (generic|tls)" if kind == "Secret" else "create configmap"
        assert re.search(rf"{command} {name}\b", guide), f"k8s/README.md: how to create {name}"


def test_private_keys_reach_the_services_only_as_owner_readable_copies(
    objects: list[Obj],
) -> None:
    for workload, spec in pods(objects):
        secret_volumes = {v["name"] for v in spec.get("volumes") or [] if "secret" in v}
        for volume in spec.get("volumes") or []:
            if "secret" in volume:
                assert volume["secret"]["defaultMode"] == 0o400, volume["name"]
        for container in renderer().containers(workload):
            mounted = {m["name"] for m in container.get("volumeMounts") or []}
            if service_of(container) is not None:
                # fsGroup makes Secret files group-readable; the services refuse those keys.
                assert not mounted & secret_volumes, f"{container['name']} mounts a Secret"
        copies = [v for v in spec.get("volumes") or [] if v["name"] == "secrets"]
        if secret_volumes and copies:
            assert copies[0]["emptyDir"]["medium"] == "Memory"


def test_the_secret_copies_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("copy_secrets", K8S / "base/copy-secrets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A Secret volume as the kubelet writes it: files are links into a hidden, dated directory.
    source = tmp_path / "secrets"
    for secret, files in {"agency-key": {"agency.key": b"k"}, "tls": {"tls.crt": b"c"}}.items():
        dated = source / secret / "..2024_01_01"
        dated.mkdir(parents=True)
        (source / secret / "..data").symlink_to(dated.name)
        for name, data in files.items():
            (dated / name).write_bytes(data)
            (dated / name).chmod(0o440)
            (source / secret / name).symlink_to(f"..data/{name}")
    destination = tmp_path / "run"
    destination.mkdir()
    for _ in range(2):  # a restarted pod copies again over its earlier copies
        copies = module.copy_secrets(source, destination)
    assert sorted(p.relative_to(destination).as_posix() for p in copies) == [
        "agency-key/agency.key",
        "tls/tls.crt",
    ]
    for path in copies:
        assert not path.is_symlink()
        assert path.stat().st_mode & 0o777 == 0o400
        assert path.stat().st_uid == os.getuid()
    assert (destination / "agency-key/agency.key").read_bytes() == b"k"


# --- network ----------------------------------------------------------------------------------


def test_network_policies_deny_by_default_and_open_only_what_is_needed(
    objects: list[Obj],
) -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    deny = [p for p in policies.values() if p["podSelector"] == {} and "ingress" not in p]
    assert deny and set(deny[0]["policyTypes"]) == {"Ingress", "Egress"}
    assert not any("egress" in p for p in deny)
    components = {o["metadata"]["labels"].get("app.kubernetes.io/component") for o in objects}
    for spec in policies.values():
        component = spec["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component")
        for rule in spec.get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            sources = rule.get("from")
            assert ports, "every ingress rule names its ports"
            if not sources:  # from anywhere: only the node's gRPC port
                assert (component, ports) == ("node", {50051})
            for source in sources or []:
                if (
                    "namespaceSelector" in source
                ):  # another namespace: only the ingress to the gateway
                    assert (component, ports) == ("gateway", {8080})
                assert "ipBlock" not in source
            if component == "opensearch":
                allowed = {"node", "ingest", "opensearch"}
                assert all(
                    s["podSelector"]["matchLabels"]["app.kubernetes.io/component"] in allowed
                    for s in sources or [{}]
                )
        for rule in spec.get("egress", []):
            if any("ipBlock" in t for t in rule.get("to", [])):  # outside the cluster
                assert component == "federation"
                assert {p["port"] for p in rule["ports"]} == {50051}
    if "node" in components:
        assert "cets-opensearch" in policies and "cets-node" in policies
    else:
        assert "opensearch" not in components  # a coordinator holds no records


# --- settings: the manifests pass exactly what the services read -----------------------------


class _Recorder(dict[str, str]):
    """An environment that remembers every variable looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def _minimal_env(tmp_path: Path) -> dict[str, dict[str, str]]:
    """For each service, the settings it cannot start without (with harmless values)."""
    card_key = tmp_path / "card.key"
    card_key.write_text("00112233445566778899aabbccddeeff\n")

    def required(module: ModuleType) -> dict[str, str]:
        values = {"agency_id": "tps"}
        return {
            variable: values.get(name, str(tmp_path / name))
            for name, variable, _ in module._SETTINGS
            if name in module._REQUIRED
        }

    node = {
        "CETS_AGENCY_ID": "tps",
        "OPENSEARCH_URL": "http://127.0.0.1:9200",
        "CETS_CARD_KEY_FILE": str(card_key),
        **{v: str(tmp_path / v) for v in ("CETS_AGENCY_KEY_FILE", "CETS_MEMBERSHIP_FILE")},
        **{v: str(tmp_path / v) for v in ("CETS_FEDERATION_ADMIN_KEY_FILE", "CETS_AUDIT_LOG")},
    }
    return {
        "node": node,
        "ingest": {k: node[k] for k in ("CETS_AGENCY_ID", "OPENSEARCH_URL", "CETS_CARD_KEY_FILE")},
        "federation": required(federation_config),
        "gateway": required(gateway_config),
    }


def _load(service: str, env: Mapping[str, str]) -> Any:
    if service in {"node", "ingest"}:
        config = node_config.NodeConfig.from_env(env)
        if service == "node":
            config.require_federation()  # `cets node serve` needs these too
        return config
    if service == "federation":
        return federation_config.FederationConfig.from_env(env)
    return gateway_config.GatewayConfig.from_env(env)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[set[str], set[str]]]:
    """Per service: (every setting it reads, the ones it requires)."""
    cli = (ROOT / "services/cli/cets/cli/__init__.py").read_text()
    logging = {v for v in ("CETS_LOG_LEVEL", "CETS_LOG_FORMAT") if f'"{v}"' in cli}
    assert len(logging) == 2, "every command reads the log settings"
    modules = {"node": node_config, "federation": federation_config, "gateway": gateway_config}
    found = {}
    for service, minimal in _minimal_env(tmp_path_factory.mktemp("settings")).items():
        recorder = _Recorder(minimal)
        _load(service, recorder)  # the minimal settings are enough...
        for variable in minimal:  # ...and each of them is needed
            with pytest.raises(ConfigError):
                _load(service, {k: v for k, v in minimal.items() if k != variable})
        module = modules.get(service, node_config)
        assert {v for _, v, _ in module._SETTINGS} <= recorder.read  # incl. TLS, key files
        read = recorder.read | logging
        if service in {"node", "ingest"}:
            read.add("SSL_CERT_FILE")  # the OpenSearch client's CA: see the test below
        found[service] = (read, set(minimal))
    return found


def test_the_opensearch_client_trusts_the_ca_in_ssl_cert_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opensearchpy import AIOHttpConnection, Urllib3HttpConnection

    monkeypatch.setenv("SSL_CERT_FILE", "/etc/cets/opensearch/ca.crt")
    for connection in (Urllib3HttpConnection, AIOHttpConnection):
        assert connection.default_ca_certs() == "/etc/cets/opensearch/ca.crt"


def test_containers_get_exactly_the_settings_their_service_reads(
    objects: list[Obj], settings: dict[str, tuple[set[str], set[str]]]
) -> None:
    parsers = {
        variable: parse
        for module in (node_config, federation_config, gateway_config)
        for _, variable, parse in module._SETTINGS
    }
    for workload, _ in pods(objects):
        for container in renderer().containers(workload):
            service = service_of(container)
            names = [e["name"] for e in container.get("env") or []]
            where = f"{workload['metadata']['name']} {container['name']}"
            if service is None:
                if container["image"].split("/")[-1].startswith("cets"):
                    assert not names, f"{where}: a helper container needs no settings"
                continue
            read, required = settings[service]
            assert "envFrom" not in container, f"{where}: name every setting"
            assert len(names) == len(set(names)), where
            assert set(names) <= read, f"{where}: not read: {sorted(set(names) - read)}"
            assert required <= set(names), f"{where}: missing {sorted(required - set(names))}"
            env = {e["name"]: env_value(e, objects) for e in container["env"]}
            for name, value in env.items():
                if value and name in parsers:
                    parsers[name](value)  # a value the service accepts
            listen = env.get("CETS_NODE_LISTEN") or env.get("CETS_FEDERATION_LISTEN")
            if listen and not is_loopback(listen):  # off loopback the services insist on TLS
                prefix = "CETS_NODE" if service == "node" else "CETS_FEDERATION"
                wanted = {f"{prefix}_TLS_{n}" for n in ("CERT", "KEY", "CLIENT_CA")}
                assert wanted <= set(env), where


# --- the image ------------------------------------------------------------------------------


def test_every_cets_container_runs_the_one_image_and_opensearch_the_official_one(
    objects: list[Obj],
) -> None:
    images = {c["image"] for w, _ in pods(objects) for c in renderer().containers(w)}
    cets = {i for i in images if "opensearch" not in i}
    assert len(cets) == 1
    assert images - cets <= {"opensearchproject/opensearch:2.19.1"}


def test_the_dockerfile_builds_one_locked_down_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"python:3\.11\.\d+-slim-bookworm", dockerfile)
    assert "pip install --no-cache-dir -c constraints.txt ." in dockerfile
    assert re.search(r"^USER 10001(:10001)?$", dockerfile, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["cets"\]$', dockerfile, re.MULTILINE)
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "the build context is an allowlist"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert allowed == {"pyproject.toml", "constraints.txt", "README.md", "LICENSE"} | {
        "protos/gen",
        "services",
    }
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE)
    assert copies
    for copied in copies:  # everything the build copies is in the context
        assert set(copied.split()) <= allowed, copied
