#!/usr/bin/env python3
"""Render this project's kustomizations and check the result offline.

    python k8s/render.py k8s/overlays/example-tps          # multi-document YAML on stdout
    python k8s/render.py --check k8s/overlays/*            # validate, print a summary

Rendering implements the part of kustomize the manifests here use, with the same meaning, so
``kubectl apply -k`` gives the same objects, down to the names of generated ConfigMaps and the
order of merged lists. A kustomization field outside this subset is an error, never ignored:

- ``resources``: YAML files and directories holding a kustomization;
- ``namespace``; ``labels`` (``pairs`` added to every object's metadata);
- ``images``: ``name`` with ``newName``, ``newTag`` or ``digest``;
- ``configMapGenerator``: ``name``, ``behavior`` (create, merge, replace), ``files``,
  ``literals``; the name gets a hash of the content, and references to it in pod templates
  follow, so changing a ConfigMap rolls the pods that read it;
- ``patches``: ``path`` or inline ``patch``, optionally with a ``target`` (``kind``, ``name``,
  ``labelSelector`` of ``key=value`` pairs); a strategic-merge patch (lists of containers, env,
  volumes... merged by their key; ``$patch: delete`` removes an object or a list entry) or a
  JSON 6902 patch (a list of ``add``, ``remove``, ``replace`` and ``test`` operations).

Checking (``--check``, or :func:`validate`) validates every object against the Kubernetes
JSON schemas of ``--kubernetes-version`` in strict mode (unknown fields are errors), with the
``kubernetes-validate`` package, and then cross-checks what the schemas cannot: selectors that
match their pods, mounts of declared volumes, references between objects, ConfigMap keys.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "EXTERNAL",
    "RenderError",
    "containers",
    "dump",
    "pod_spec",
    "references",
    "render",
    "validate",
]

DEFAULT_KUBERNETES_VERSION = "1.30"

#: Objects the manifests use that are deliberately not in git: the agency creates them with
#: kubectl from its own keys and PKI (k8s/README.md gives the commands).
EXTERNAL: frozenset[tuple[str, str]] = frozenset(
    {
        ("Secret", "cets-agency-key"),
        ("Secret", "cets-card-key"),
        ("Secret", "cets-node-tls"),
        ("Secret", "cets-peer-tls"),
        ("Secret", "cets-federation-tls"),
        ("Secret", "cets-gateway-tls"),
        ("Secret", "cets-cursor-key"),
        ("Secret", "cets-gateway-ingress-tls"),
        ("Secret", "cets-opensearch-client"),
        ("Secret", "cets-opensearch-tls"),
        ("Secret", "cets-opensearch-security"),
        ("ConfigMap", "cets-opensearch-ca"),
    }
)

Obj = dict[str, Any]

_KUSTOMIZATION_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "namespace",
        "labels",
        "images",
        "configMapGenerator",
        "patches",
    }
)
_GENERATED = "cets.render/generated"  # internal marker: a generated ConfigMap's base name
_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
# kustomize's output order: what others depend on first.
_ORDER_FIRST = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
]
_ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
# Strategic-merge keys of the lists the patches here touch; other lists are replaced whole.
_MERGE_KEYS = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "envFrom": (),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"),
}


class RenderError(ValueError):
    """A kustomization that cannot be rendered; the message names the file and the problem."""


# --- loading ----------------------------------------------------------------------------------


def _load_documents(path: Path) -> list[Obj]:
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(f"{path}: {exc}") from None
    objects = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict) or "kind" not in document:
            raise RenderError(f"{path}: every document must be a Kubernetes object")
        objects.append(document)
    return objects


def _load_kustomization(directory: Path) -> Obj:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise RenderError(f"{directory}: no kustomization.yaml")
    documents = _load_documents(path)
    if len(documents) != 1 or documents[0].get("kind") != "Kustomization":
        raise RenderError(f"{path}: must hold one Kustomization")
    kustomization = documents[0]
    unknown = sorted(set(kustomization) - _KUSTOMIZATION_FIELDS)
    if unknown:
        raise RenderError(f"{path}: fields this renderer does not implement: {unknown}")
    return kustomization


def _inside(directory: Path, relative: str, what: str) -> Path:
    """A path named in a kustomization; like kustomize, files must stay under its root."""
    path = (directory / relative).resolve()
    if path.is_dir():
        return path
    if directory.resolve() not in path.parents:
        raise RenderError(f"{directory}: {what} {relative} is outside the kustomization")
    return path


# --- identity and matching ------------------------------------------------------------------


def _ident(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (obj["kind"], meta.get("namespace", ""), meta.get("name", ""))


def _name(obj: Obj) -> str:
    name: str = (obj.get("metadata") or {}).get("name", "")
    return name


def _labels(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels


def _selector_pairs(selector: str) -> dict[str, str]:
    pairs = {}
    for part in filter(None, (p.strip() for p in selector.split(","))):
        key, equals, value = part.partition("=")
        if not equals or not key or "!" in key or value.startswith(("=", "(")):
            raise RenderError(f"label selector {selector!r}: only key=value pairs are supported")
        pairs[key.strip()] = value.strip()
    return pairs


def _matches(obj: Obj, target: Obj) -> bool:
    unknown = sorted(set(target) - {"kind", "name", "labelSelector", "group", "version"})
    if unknown:
        raise RenderError(f"patch target fields this renderer does not implement: {unknown}")
    api = obj.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    if "kind" in target and obj["kind"] != target["kind"]:
        return False
    if "group" in target and group != target["group"]:
        return False
    if "version" in target and version != target["version"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], _name(obj)):
        return False
    if "labelSelector" in target:
        wanted = _selector_pairs(target["labelSelector"])
        labels = _labels(obj)
        if any(labels.get(k) != v for k, v in wanted.items()):
            return False
    return True


# --- patches ----------------------------------------------------------------------------------


def _list_key(field: str, items: list[Any]) -> str | None:
    keys = _MERGE_KEYS.get(field)
    if not keys:
        return None
    for key in keys:
        if all(isinstance(item, dict) and key in item for item in items):
            return key
    return None


def _merge(base: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge of ``patch`` into ``base`` (both plain YAML data)."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if not isinstance(base, dict):
            base = {}
        merged = dict(base)
        for key, value in patch.items():
            if key.startswith("$"):
                raise RenderError(f"unsupported strategic-merge directive {key}")
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(merged.get(key), value, key)
        return merged
    if isinstance(patch, list) and isinstance(base, list):
        key = _list_key(field, base + patch)
        if key is None:
            return copy.deepcopy(patch)
        # As kustomize orders them: the patch's entries first (merged with the ones they
        # name), then the others in their old order; "$patch: delete" entries go.
        named = {item[key] for item in patch}
        merged_list = []
        for item in patch:
            if item.get("$patch") == "delete":
                continue
            old = next((b for b in base if b[key] == item[key]), None)
            merged_list.append(_merge(old, item, field) if old else copy.deepcopy(item))
        return merged_list + [b for b in base if b[key] not in named]
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise RenderError(f"JSON pointer {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json6902(obj: Obj, operations: list[Any]) -> Obj:
    result = copy.deepcopy(obj)
    for op in operations:
        if not isinstance(op, dict) or op.get("op") not in {"add", "remove", "replace", "test"}:
            raise RenderError(f"JSON patch operation {op!r}: only add, remove, replace, test")
        *parents, last = _pointer(op["path"]) or [""]
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        kind = op["op"]
        try:
            if isinstance(node, list):
                index = len(node) if last == "-" else int(last)
                if kind == "add":
                    node.insert(index, copy.deepcopy(op["value"]))
                elif kind == "remove":
                    del node[index]
                elif kind == "replace":
                    node[index] = copy.deepcopy(op["value"])
                elif node[index] != op["value"]:
                    raise RenderError(f"JSON patch test failed at {op['path']}")
            else:
                if kind in {"remove", "replace", "test"} and last not in node:
                    raise RenderError(f"JSON patch {kind}: {op['path']} does not exist")
                if kind == "remove":
                    del node[last]
                elif kind == "test":
                    if node[last] != op["value"]:
                        raise RenderError(f"JSON patch test failed at {op['path']}")
                else:
                    node[last] = copy.deepcopy(op["value"])
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise RenderError(f"JSON patch {kind} at {op['path']}: {exc}") from None
    return result


def _apply_patch(directory: Path, objects: list[Obj], body: Any, target: Obj | None) -> None:
    if target is None:
        if not isinstance(body, dict) or "kind" not in body:
            raise RenderError(f"{directory}: a patch without target must name its object")
        target = {"kind": body["kind"], "name": re.escape(_name(body))}
    chosen = [i for i, obj in enumerate(objects) if _matches(obj, target)]
    if not chosen:
        raise RenderError(f"{directory}: patch target {target} matches nothing")
    for index in reversed(chosen):
        if isinstance(body, list):
            objects[index] = _json6902(objects[index], body)
        elif isinstance(body, dict) and body.get("$patch") == "delete":
            del objects[index]
        elif isinstance(body, dict):
            rest = {k: v for k, v in body.items() if k not in {"apiVersion", "kind"}}
            if "metadata" in rest:
                rest["metadata"] = {
                    k: v for k, v in rest["metadata"].items() if k not in {"name", "namespace"}
                }
            objects[index] = _merge(objects[index], rest)
        else:
            raise RenderError(f"{directory}: a patch must be a mapping or a list")


def _apply_patches(directory: Path, objects: list[Obj], patches: list[Any]) -> list[Obj]:
    for entry in patches:
        unknown = sorted(set(entry) - {"path", "patch", "target"})
        if unknown or ("path" in entry) == ("patch" in entry):
            raise RenderError(f"{directory}: a patch needs exactly one of path and patch")
        text = (
            _inside(directory, entry["path"], "patch").read_text(encoding="utf-8")
            if "path" in entry
            else entry["patch"]
        )
        try:
            bodies = [b for b in yaml.safe_load_all(text) if b is not None]
        except yaml.YAMLError as exc:
            raise RenderError(f"{directory}: patch: {exc}") from None
        for body in bodies:  # a file may hold several strategic-merge patches
            _apply_patch(directory, objects, body, entry.get("target"))
    return objects


# --- generators, transformers ---------------------------------------------------------------


def _generate(directory: Path, objects: list[Obj], generators: list[Any]) -> list[Obj]:
    for spec in generators:
        unknown = sorted(set(spec) - {"name", "behavior", "files", "literals"})
        if unknown:
            raise RenderError(f"{directory}: configMapGenerator fields not implemented: {unknown}")
        data: dict[str, str] = {}
        for item in spec.get("files", []):
            key, equals, relative = item.partition("=")
            if not equals:
                key, relative = Path(item).name, item
            path = _inside(directory, relative, "file")
            try:
                data[key] = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise RenderError(f"{directory}: {exc}") from None
        for item in spec.get("literals", []):
            key, equals, value = item.partition("=")
            if not equals:
                raise RenderError(f"{directory}: literal {item!r} must be KEY=VALUE")
            data[key] = value
        behavior = spec.get("behavior", "create")
        existing = next(
            (o for o in objects if o["kind"] == "ConfigMap" and _name(o) == spec["name"]), None
        )
        if behavior == "create":
            if existing is not None:
                raise RenderError(f"{directory}: ConfigMap {spec['name']} already exists")
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": spec["name"], "annotations": {_GENERATED: "true"}},
                    "data": data,
                }
            )
        elif behavior in {"merge", "replace"}:
            if existing is None:
                raise RenderError(f"{directory}: no ConfigMap {spec['name']} to {behavior}")
            if behavior == "replace":
                existing["data"] = data
            else:
                existing["data"] = {**(existing.get("data") or {}), **data}
        else:
            raise RenderError(f"{directory}: unknown configMapGenerator behavior {behavior}")
    return objects


def _set_image(image: str, rules: list[Any]) -> str:
    name = re.split(r"@", image)[0]
    if re.search(r":[^/]+$", name):
        name = name.rsplit(":", 1)[0]
    for rule in rules:
        unknown = sorted(set(rule) - {"name", "newName", "newTag", "digest"})
        if unknown:
            raise RenderError(f"images fields not implemented: {unknown}")
        if rule["name"] != name:
            continue
        tag = image[len(name) :]
        new = rule.get("newName", name)
        if "digest" in rule:
            return f"{new}@{rule['digest']}"
        if "newTag" in rule:
            return f"{new}:{rule['newTag']}"
        return f"{new}{tag}"
    return image


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload (or of a CronJob's job), or None."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif obj["kind"] not in _WORKLOADS:
        return None
    template_spec: Obj | None = (spec.get("template") or {}).get("spec")
    return template_spec


def containers(obj: Obj, *, init: bool = True) -> list[Obj]:
    """The containers of a workload's pods, init containers first (when ``init``)."""
    spec = pod_spec(obj) or {}
    found: list[Obj] = list(spec.get("initContainers") or []) if init else []
    return found + list(spec.get("containers") or [])


def _transform(objects: list[Obj], kustomization: Obj) -> list[Obj]:
    namespace = kustomization.get("namespace")
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        for entry in kustomization.get("labels", []):
            unknown = sorted(set(entry) - {"pairs", "includeSelectors"})
            if unknown or entry.get("includeSelectors", False):
                raise RenderError("labels: only pairs (without includeSelectors) are implemented")
            meta.setdefault("labels", {}).update(entry["pairs"])
        for container in containers(obj):
            if "image" in container:
                container["image"] = _set_image(container["image"], kustomization.get("images", []))
    return objects


def _config_map_refs(spec: Obj) -> Iterator[tuple[Obj, str]]:
    """Every (mapping, key) in a pod spec that holds a ConfigMap's name."""
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            yield volume["configMap"], "name"
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                yield source["configMap"], "name"
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                yield ref, "name"
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                yield source["configMapRef"], "name"


def _kustomize_hash(obj: Obj) -> str:
    """kustomize's suffix: 10 characters of the sha256 of the ConfigMap's data as JSON.

    kustomize (v5) means to hash the name too, but looks it up under a path that does not
    exist, so it always hashes an empty name; so does this, to give the same names.
    """
    encoded = json.dumps(
        {"data": obj.get("data") or {}, "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        encoded = encoded.replace(char, escape)
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _finish(objects: list[Obj]) -> list[Obj]:
    """Hash-suffix generated ConfigMaps, point references at the new names, sort."""
    renamed: dict[tuple[str, str], str] = {}
    for obj in objects:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if obj["kind"] == "ConfigMap" and annotations.pop(_GENERATED, None):
            if not annotations:
                obj["metadata"].pop("annotations")
            new = f"{_name(obj)}-{_kustomize_hash(obj)}"
            renamed[(obj["metadata"].get("namespace", ""), _name(obj))] = new
            obj["metadata"]["name"] = new
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        namespace = obj["metadata"].get("namespace", "")
        for holder, key in _config_map_refs(spec):
            holder[key] = renamed.get((namespace, holder[key]), holder[key])

    def order(obj: Obj) -> tuple[int, str, str]:
        kind = obj["kind"]
        if kind in _ORDER_FIRST:
            rank = _ORDER_FIRST.index(kind)
        elif kind in _ORDER_LAST:
            rank = len(_ORDER_FIRST) + 1 + _ORDER_LAST.index(kind)
        else:
            rank = len(_ORDER_FIRST)
        return (rank, f"{obj.get('apiVersion', '')}/{kind}", _name(obj))

    return sorted(objects, key=order)


# --- the build ----------------------------------------------------------------------------------


def _build(directory: Path, seen: tuple[Path, ...]) -> list[Obj]:
    directory = directory.resolve()
    if directory in seen:
        raise RenderError(f"{directory}: kustomizations refer to each other in a cycle")
    kustomization = _load_kustomization(directory)
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = _inside(directory, entry, "resource")
        if path.is_dir():
            objects.extend(_build(path, (*seen, directory)))
        else:
            objects.extend(_load_documents(path))
    objects = _generate(directory, objects, kustomization.get("configMapGenerator", []))
    objects = _apply_patches(directory, objects, kustomization.get("patches", []))
    objects = _transform(objects, kustomization)
    identities = [_ident(obj) for obj in objects]
    duplicates = sorted({i for i in identities if identities.count(i) > 1})
    if duplicates:
        raise RenderError(f"{directory}: objects defined twice: {duplicates}")
    return objects


def render(directory: Path | str) -> list[Obj]:
    """Every object the kustomization in ``directory`` produces, in apply order."""
    return _finish(_build(Path(directory), ()))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(objects: Iterable[Obj]) -> str:
    """Multi-document YAML, as ``kubectl apply -f -`` takes it."""
    return yaml.dump_all(list(objects), Dumper=_Dumper, sort_keys=False, default_flow_style=False)


# --- validation ------------------------------------------------------------------------------


def references(objects: Iterable[Obj]) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap, Secret and PersistentVolumeClaim the objects use."""
    found: set[tuple[str, str]] = set()
    for obj in objects:
        if obj["kind"] == "Ingress":
            for tls in obj["spec"].get("tls") or []:
                found.add(("Secret", tls["secretName"]))
        spec = pod_spec(obj)
        if spec is None:
            continue
        for holder, key in _config_map_refs(spec):
            found.add(("ConfigMap", holder[key]))
        for volume in spec.get("volumes") or []:
            if "secret" in volume:
                found.add(("Secret", volume["secret"]["secretName"]))
            if "persistentVolumeClaim" in volume:
                found.add(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
        for container in (spec.get("initContainers") or []) + spec.get("containers", []):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    found.add(("Secret", ref["name"]))
            for source in container.get("envFrom") or []:
                if "secretRef" in source:
                    found.add(("Secret", source["secretRef"]["name"]))
    return found


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _template_labels(obj: Obj) -> dict[str, str] | None:
    """The labels of a workload's pods (also a CronJob's), or None for other objects."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif obj["kind"] not in _WORKLOADS:
        return None
    labels: dict[str, str] = ((spec.get("template") or {}).get("metadata") or {}).get(
        "labels"
    ) or {}
    return labels


def _selector(obj: Obj) -> dict[str, str] | None:
    """The labels an object selects pods by, or None for objects that select none."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Service":
        return dict(spec.get("selector") or {})
    if obj["kind"] in _WORKLOADS | {"PodDisruptionBudget"}:
        return dict((spec.get("selector") or {}).get("matchLabels") or {})
    if obj["kind"] == "NetworkPolicy":
        return dict((spec.get("podSelector") or {}).get("matchLabels") or {})
    return None


def _cross_check(objects: list[Obj], external: frozenset[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    by_kind: dict[str, dict[str, Obj]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[_name(obj)] = obj
    pods = [labels for obj in objects if (labels := _template_labels(obj)) is not None]
    for obj in objects:
        where = f"{obj['kind']}/{_name(obj)}"
        spec = obj.get("spec") or {}
        selector = _selector(obj)
        own = _template_labels(obj)
        # (a NetworkPolicy's empty selector means every pod)
        selects_any = selector == {} and obj["kind"] == "NetworkPolicy"
        if selector is not None and own is not None:
            if not _selects(selector, own):
                problems.append(f"{where}: selector does not match its pod template")
        elif (
            selector is not None
            and not selects_any
            and not any(_selects(selector, p) for p in pods)
        ):
            problems.append(f"{where}: its selector matches no pods")
        if obj["kind"] == "StatefulSet" and spec.get("serviceName") not in by_kind.get(
            "Service", {}
        ):
            problems.append(f"{where}: serviceName {spec.get('serviceName')} is no Service")
        if obj["kind"] == "HorizontalPodAutoscaler":
            ref = spec["scaleTargetRef"]
            if ref["name"] not in by_kind.get(ref["kind"], {}):
                problems.append(f"{where}: scales {ref['kind']}/{ref['name']}, not found")
        problems.extend(_check_pods(obj, by_kind, where))
    for kind, name in sorted(references(objects)):
        if name not in by_kind.get(kind, {}) and (kind, name) not in external:
            problems.append(f"{kind}/{name} is used but neither rendered nor documented")
    return problems


def _check_pods(obj: Obj, by_kind: dict[str, dict[str, Obj]], where: str) -> list[str]:
    spec = pod_spec(obj)
    if spec is None:
        return []
    problems = []
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    claims = {
        (t.get("metadata") or {}).get("name")
        for t in (obj.get("spec") or {}).get("volumeClaimTemplates") or []
    }
    account = spec.get("serviceAccountName")
    if account and account not in by_kind.get("ServiceAccount", {}):
        problems.append(f"{where}: service account {account} is not defined")
    config_maps = by_kind.get("ConfigMap", {})
    for container in containers(obj):
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None and mount["name"] not in claims:
                problems.append(f"{where}: {container['name']} mounts undeclared {mount['name']}")
            source = (volume or {}).get("configMap") or {}
            keys = (config_maps.get(source.get("name", "")) or {}).get("data") or {}
            if source.get("name") in config_maps and mount.get("subPath", "") not in {"", *keys}:
                problems.append(
                    f"{where}: ConfigMap {source['name']} has no key {mount['subPath']}"
                )
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef") or {}
            keys = (config_maps.get(ref.get("name", "")) or {}).get("data") or {}
            if (
                ref.get("name") in config_maps
                and not ref.get("optional")
                and ref["key"] not in keys
            ):
                problems.append(f"{where}: ConfigMap {ref['name']} has no key {ref['key']}")
    return problems


def validate(
    objects: list[Obj],
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    *,
    external: frozenset[tuple[str, str]] = EXTERNAL,
) -> list[str]:
    """Every problem found, one line each; empty when all objects are valid.

    Each object is validated against the strict JSON schema of its kind for
    ``kubernetes_version`` (an unknown field, a wrong type or a missing required field is a
    problem), then the objects are checked against each other.
    """
    import kubernetes_validate  # only checking needs it (a development dependency)

    problems = []
    for obj in objects:
        label = f"{obj.get('kind')}/{_name(obj)}"
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path) or "(top)"
            problems.append(f"{label}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{label}: {exc.message}")
    if not problems:
        problems.extend(_cross_check(objects, external))
    return problems


# --- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None, out: Callable[[str], Any] = sys.stdout.write) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="+", type=Path, help="kustomization directories")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate instead of printing (strict Kubernetes schemas, then cross-checks)",
    )
    parser.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        help=f"the schemas to validate against [default: {DEFAULT_KUBERNETES_VERSION}]",
    )
    args = parser.parse_args(argv)
    if not args.check and len(args.directories) != 1:
        parser.error("print one kustomization at a time (or use --check)")
    failed = False
    for directory in args.directories:
        try:
            objects = render(directory)
        except RenderError as exc:
            print(f"{directory}: {exc}", file=sys.stderr)
            failed = True
            continue
        if not args.check:
            out(dump(objects))
            continue
        problems = validate(objects, args.kubernetes_version)
        for problem in problems:
            print(f"{directory}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        verdict = f"{len(problems)} problems" if problems else "valid"
        version = f"Kubernetes {args.kubernetes_version}"
        print(f"{directory}: {len(objects)} objects, {verdict} ({version})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
