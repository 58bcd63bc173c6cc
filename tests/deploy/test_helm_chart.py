"""The Helm chart (helm/satuatap), checked offline with no cluster and no helm binary.

``helm-python-sdk`` binds Helm's own Go library (render, lint, values-schema validation) and
``kubernetes-validate`` carries the Kubernetes API's JSON schemas. Every value set in the
chart's ``ci/`` folder is linted, rendered and validated in strict mode (an unknown field
fails) against a pinned Kubernetes version; then the properties the deployment relies on are
asserted object by object, and bad values and broken manifests are shown to be refused.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "satuatap"
# The Kubernetes API the manifests are validated against, and the oldest one Chart.yaml
# accepts (its kubeVersion), which the default set is checked against too.
KUBE_VERSION = "1.33.0"
OLDEST_KUBE_VERSION = "1.29.0"
RELEASE = "mpp"
NAMESPACE = "satuatap"
FULLNAME = f"{RELEASE}-satuatap"
VARIANTS = sorted(p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml"))
# Settings that are secrets: they may reach a pod only through a Secret reference.
SECRET_SETTINGS = {
    "SECRET_KEY",
    "NIK_ENCRYPTION_KEY",
    "DATABASE_URL",
    "DATABASE_DIRECT_URL",
    "EMAIL_HOST_PASSWORD",
}
POD_KINDS = {"Deployment", "Job", "CronJob"}

Manifest = dict[str, Any]

# --- CRDs: kubernetes-validate knows only the core API. The fields the chart writes into
# cert-manager and CloudNativePG objects are checked against these trimmed schemas of
# cert-manager.io/v1 and postgresql.cnpg.io/v1 (unknown fields refused, as in strict mode).
_META = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}},
}
_ISSUER_REF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "kind"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "kind": {"enum": ["Issuer", "ClusterIssuer"]},
        "group": {"const": "cert-manager.io"},
    },
}
CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("cert-manager.io/v1", "Certificate"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _META,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["secretName", "issuerRef", "dnsNames"],
                "properties": {
                    "secretName": {"type": "string", "minLength": 1},
                    "dnsNames": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "issuerRef": _ISSUER_REF,
                    "privateKey": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
                            "size": {"type": "integer"},
                            "rotationPolicy": {"enum": ["Never", "Always"]},
                        },
                    },
                },
            },
        },
    },
    ("cert-manager.io/v1", "Issuer"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _META,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["acme"],
                "properties": {
                    "acme": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["server", "privateKeySecretRef", "solvers"],
                        "properties": {
                            "server": {"type": "string", "pattern": "^https://"},
                            "email": {"type": "string"},
                            "privateKeySecretRef": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {"name": {"type": "string"}},
                            },
                            "solvers": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "selector": {"type": "object"},
                                        "dns01": {"type": "object", "minProperties": 1},
                                        "http01": {"type": "object"},
                                    },
                                },
                            },
                        },
                    }
                },
            },
        },
    },
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": _META,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["instances", "storage"],
                "properties": {
                    "instances": {"type": "integer", "minimum": 1},
                    "imageName": {"type": "string"},
                    "enableSuperuserAccess": {"type": "boolean"},
                    "bootstrap": {
                        "type": "object",
                        "properties": {
                            "initdb": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "database": {"type": "string"},
                                    "owner": {"type": "string"},
                                },
                            }
                        },
                    },
                    "postgresql": {
                        "type": "object",
                        "properties": {
                            "parameters": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            }
                        },
                    },
                    "storage": {
                        "type": "object",
                        "required": ["size"],
                        "properties": {"size": {"type": "string"}},
                    },
                    "resources": {"type": "object"},
                },
            },
        },
    },
}


# --- helpers ------------------------------------------------------------------------------


def ci_values(variant: str) -> dict[str, Any]:
    """A value set from the chart's ci/ folder (a fresh copy each time)."""
    return yaml.safe_load((CHART / "ci" / f"{variant}-values.yaml").read_text())


def render_files(values: dict[str, Any], chart: Path = CHART) -> dict[str, str]:
    """Render the chart offline as `helm install` would; template path → text."""
    with helm.Chart.load(chart) as loaded:
        return loaded.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def render(values: dict[str, Any], chart: Path = CHART) -> list[Manifest]:
    """Render the chart and parse every object it produces (NOTES.txt left out)."""
    docs: list[Manifest] = []
    for path, text in sorted(render_files(values, chart).items()):
        if not path.endswith("NOTES.txt"):
            docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


@cache
def _rendered_variant(variant: str) -> tuple[Manifest, ...]:
    return tuple(render(ci_values(variant)))


def rendered(variant: str) -> list[Manifest]:
    """The objects of one ci/ value set (rendered once per test session; copies returned)."""
    return copy.deepcopy(list(_rendered_variant(variant)))


def find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of this kind and name."""
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def kinds(docs: list[Manifest], kind: str) -> list[Manifest]:
    """Every object of this kind."""
    return [d for d in docs if d["kind"] == kind]


def pod_template(doc: Manifest) -> Manifest:
    """The pod template of a Deployment, Job or CronJob."""
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]
    return doc["spec"]["template"]


def pods(docs: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(object, pod template) for every object that makes pods."""
    for doc in docs:
        if doc["kind"] in POD_KINDS:
            yield doc, pod_template(doc)


def env_of(container: Manifest) -> dict[str, Manifest]:
    """A container's environment by name (names must be unique)."""
    names = [item["name"] for item in container.get("env", [])]
    assert len(names) == len(set(names)), f"duplicate env names in {container['name']}"
    return {item["name"]: item for item in container.get("env", [])}


def secret_ref(env: dict[str, Manifest], name: str) -> tuple[str, str, bool]:
    """(Secret name, key, optional) a variable is read from."""
    ref = env[name]["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"], bool(ref.get("optional", False))


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) matches these labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        op = expr["operator"]
        if op == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
        if op == "NotIn" and labels.get(expr["key"]) in expr["values"]:
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def validate_strict(doc: Manifest, version: str = KUBE_VERSION) -> None:
    """Validate one object against the Kubernetes schemas (strict) or a known CRD's."""
    crd = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if crd is not None:
        jsonschema.Draft202012Validator(crd).validate(doc)
        return
    kubernetes_validate.validate(doc, version, strict=True)


def settings_env_names() -> set[str]:
    """Every environment variable platform/mpp/settings.py reads."""
    source = (ROOT / "platform" / "mpp" / "settings.py").read_text()
    return set(re.findall(r"env_[a-z_]+\(\s*\"([A-Z0-9_]+)\"", source))


# --- lint, render, validate ---------------------------------------------------------------


def test_every_variant_is_checked() -> None:
    """The ci/ value sets cover the options the issue names (guards against a lost file)."""
    assert set(VARIANTS) >= {
        "default",
        "cert-manager",
        "custom-domains",
        "no-autoscaling",
        "cloudnativepg",
        "citus",
        "pgbouncer",
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_chart_lints_clean(variant: str) -> None:
    """`helm lint --strict` finds no warning or error with each value set."""
    report = helm.lint(CHART, ci_values(variant), strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["total_charts_linted"] == 1
    assert problems == [] and report["errors"] == [], report


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_manifests_validate_strictly(variant: str) -> None:
    """Every rendered object is valid for the pinned Kubernetes API, unknown fields refused."""
    docs = rendered(variant)
    assert len(docs) >= 8
    for doc in docs:
        try:
            validate_strict(doc)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
        assert doc["metadata"]["namespace"] == NAMESPACE
        assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


def test_default_set_validates_on_the_oldest_supported_kubernetes() -> None:
    """The chart claims Kubernetes 1.29 and later: its objects exist there too."""
    assert yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"] == ">=1.29.0-0"
    for doc in rendered("default"):
        validate_strict(doc, OLDEST_KUBE_VERSION)


def test_default_set_renders_exactly_these_objects() -> None:
    """What an install with only the required values creates."""
    found = sorted((d["kind"], d["metadata"]["name"]) for d in rendered("default"))
    assert found == sorted(
        [
            ("CronJob", f"{FULLNAME}-prune"),
            ("Deployment", f"{FULLNAME}-web"),
            ("Deployment", f"{FULLNAME}-worker"),
            ("HorizontalPodAutoscaler", f"{FULLNAME}-web"),
            ("Ingress", FULLNAME),
            ("Job", f"{FULLNAME}-migrate"),
            ("NetworkPolicy", f"{FULLNAME}-jobs"),
            ("NetworkPolicy", f"{FULLNAME}-web"),
            ("PersistentVolumeClaim", f"{FULLNAME}-data"),
            ("PodDisruptionBudget", f"{FULLNAME}-web"),
            ("PodDisruptionBudget", f"{FULLNAME}-worker"),
            ("Service", f"{FULLNAME}-web"),
            ("ServiceAccount", FULLNAME),
            ("ServiceAccount", f"{FULLNAME}-migrate"),
        ]
    )


# --- what the deployment relies on ---------------------------------------------------------


def test_web_pods_are_probed_on_healthz_and_readyz() -> None:
    """Startup and liveness on /healthz, readiness on /readyz, all on the gunicorn port."""
    docs = rendered("default")
    web = find(docs, "Deployment", f"{FULLNAME}-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["web"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = env_of(container)
    assert {env[n]["value"] for n in ("WEB_CONCURRENCY", "WEB_THREADS", "WEB_TIMEOUT")} == {
        "2",
        "8",
        "60",
    }
    # The pod outlives its requests: drain delay plus gunicorn's graceful timeout.
    assert web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 5 + 60
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    service = find(docs, "Service", f"{FULLNAME}-web")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert selects(
        {"matchLabels": service["spec"]["selector"]}, pod_template(web)["metadata"]["labels"]
    )


def test_worker_pods_are_probed_on_their_health_port() -> None:
    """`mpp worker` serves /healthz (loop turning) and /readyz on WORKER_HEALTH_PORT, `health`."""
    docs = rendered("default")
    worker = find(docs, "Deployment", f"{FULLNAME}-worker")
    (container,) = pod_template(worker)["spec"]["containers"]
    assert container["args"] == ["worker"]
    assert container["ports"] == [{"name": "health", "containerPort": 8001, "protocol": "TCP"}]
    assert env_of(container)["WORKER_HEALTH_PORT"] == {
        "name": "WORKER_HEALTH_PORT",
        "value": "8001",
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    # A hung loop is restarted, but only after /healthz has failed for a while (its own
    # limit is 60 s): a minute and more of failures before the kubelet acts.
    liveness = container["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60
    assert "startupProbe" not in container
    # Only the kubelet probes it: the worker's NetworkPolicy lets nothing in.
    labels = pod_template(worker)["metadata"]["labels"]
    (policy,) = [
        p for p in kinds(docs, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)
    ]
    assert "Ingress" in policy["spec"]["policyTypes"] and "ingress" not in policy["spec"]

    moved = render(_with("worker.healthPort", 9100))
    (container,) = pod_template(find(moved, "Deployment", f"{FULLNAME}-worker"))["spec"][
        "containers"
    ]
    assert container["ports"][0]["containerPort"] == 9100
    assert env_of(container)["WORKER_HEALTH_PORT"]["value"] == "9100"
    assert container["livenessProbe"]["httpGet"]["port"] == "health"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_is_locked_down_and_bounded(variant: str) -> None:
    """Non-root, no escalation, read-only root, no capabilities, no API token, resources set."""
    found = 0
    for doc, template in pods(rendered(variant)):
        spec = template["spec"]
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == 10001, where  # the image's user
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["enableServiceLinks"] is False, where
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys(), where
            assert "memory" in resources["limits"], where
            # The root file system is read-only: scratch space is an emptyDir on /tmp.
            scratch = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - a mount, not a file
            assert scratch in container["volumeMounts"], where
            env = env_of(container)
            assert env["MPP_ENV"]["value"] == "production", where
            assert env["DEBUG"]["value"] == "0", where
        found += 1
    assert found >= 3


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook() -> None:
    """The Job runs `mpp migrate --parallel 4` before the release's objects, on its own account."""
    docs = rendered("default")
    job = find(docs, "Job", f"{FULLNAME}-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    assert container["args"] == ["migrate", "--parallel", "4"]
    # At pre-install nothing else of the release exists: the Job may refer to no object the
    # chart makes, except hooks that run before it.
    account = find(docs, "ServiceAccount", spec["serviceAccountName"])
    assert account["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(account["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        annotations["helm.sh/hook-weight"]
    )
    assert "envFrom" not in container
    assert {v["name"] for v in spec["volumes"]} == {"tmp"}
    # Only the Job and its account are hooks: every other object is the release's own.
    hooks = {
        d["metadata"]["name"]
        for d in docs
        if "helm.sh/hook" in d["metadata"].get("annotations", {})
    }
    assert hooks == {f"{FULLNAME}-migrate"}
    assert len([d for d in docs if d["metadata"]["name"] in hooks]) == 2


@pytest.mark.parametrize("variant", ["default", "citus"])
def test_every_pod_runs_an_mpp_verb_that_accepts_its_arguments(variant: str) -> None:
    """Each container's arguments parse as the `mpp` verb they name (the image's entry point)."""
    from django.core.management import get_commands, load_command_class

    from mpp.cli import ALIASES

    commands = get_commands()
    parsed = {}
    for doc, template in pods(rendered(variant)):
        verb, *rest = template["spec"]["containers"][0]["args"]
        name = ALIASES.get(verb, verb)
        command = load_command_class(commands[name], name)
        parsed[doc["kind"], name] = command.create_parser("mpp", verb).parse_args(rest)
    assert set(parsed) == {
        ("Deployment", "web"),
        ("Deployment", "worker"),
        ("Job", "migrate_all"),
        ("CronJob", "prune_db_task_results"),
    }
    # Tenant schemas migrate in parallel: 4 processes by default, 8 in the citus set.
    assert parsed["Job", "migrate_all"].parallel == (8 if variant == "citus" else 4)
    assert parsed["CronJob", "prune_db_task_results"].min_age_days == 14


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_is_rendered_or_inlined(variant: str) -> None:
    """The chart renders no Secret; secret settings come only from Secret references."""
    docs = rendered(variant)
    assert kinds(docs, "Secret") == []
    assert kinds(docs, "ConfigMap") == []
    for doc, template in pods(docs):
        for container in template["spec"]["containers"]:
            env = env_of(container)
            for name in SECRET_SETTINGS & env.keys():
                assert "value" not in env[name], f"{doc['metadata']['name']}: {name} inlined"
                assert "secretKeyRef" in env[name]["valueFrom"]
            for name, item in env.items():
                if re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", name):
                    assert "valueFrom" in item, f"{name} looks secret but has a plain value"
            assert {"SECRET_KEY", "NIK_ENCRYPTION_KEY", "DATABASE_URL"} <= env.keys()


def test_every_variable_the_chart_sets_is_a_setting() -> None:
    """A misspelt variable would be ignored silently: each one must be read by settings.py."""
    known = settings_env_names() | {"PGOPTIONS"}  # PGOPTIONS is libpq's own
    assert {"PLATFORM_DOMAIN", "WEB_CONCURRENCY", "DB_POOL_MODE", "WORKER_HEALTH_PORT"} <= known
    for variant in VARIANTS:
        for _doc, template in pods(rendered(variant)):
            for container in template["spec"]["containers"]:
                assert env_of(container).keys() <= known, variant


def test_ingress_serves_apex_wildcard_and_custom_domains() -> None:
    """One Ingress: apex and *.apex on the wildcard certificate, custom domains on their own."""
    ingress = find(rendered("default"), "Ingress", FULLNAME)
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == ["mpp.example.id", "*.mpp.example.id"]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["mpp.example.id", "*.mpp.example.id"], "secretName": f"{FULLNAME}-wildcard-tls"}
    ]
    for rule in ingress["spec"]["rules"]:
        (path,) = rule["http"]["paths"]
        assert path["path"] == "/" and path["pathType"] == "Prefix"
        assert path["backend"]["service"] == {"name": f"{FULLNAME}-web", "port": {"number": 80}}

    custom = find(rendered("custom-domains"), "Ingress", FULLNAME)
    assert [rule["host"] for rule in custom["spec"]["rules"]] == [
        "mpp.example.id",
        "*.mpp.example.id",
        "mpp.batam.go.id",
        "layanan.bintankab.go.id",
    ]
    assert custom["spec"]["tls"] == [
        {"hosts": ["mpp.example.id", "*.mpp.example.id"], "secretName": "example-wildcard-tls"},
        {"hosts": ["mpp.batam.go.id"], "secretName": "batam-tls"},
        {"hosts": ["layanan.bintankab.go.id"], "secretName": "bintan-tls"},
    ]
    assert kinds(rendered("custom-domains"), "Certificate") == []


def test_cert_manager_issues_the_wildcard_over_dns01() -> None:
    """The wildcard Certificate uses the chart's DNS-01 Issuer; custom domains get HTTP-01 ones."""
    docs = rendered("cert-manager")
    issuer = find(docs, "Issuer", f"{FULLNAME}-dns01")
    (solver,) = issuer["spec"]["acme"]["solvers"]
    assert solver["selector"] == {"dnsZones": ["mpp.kepriprov.go.id"]}
    assert solver["dns01"]["cloudflare"]["apiTokenSecretRef"] == {
        "name": "cloudflare-api-token",
        "key": "api-token",
    }
    wildcard = find(docs, "Certificate", f"{FULLNAME}-wildcard")
    assert wildcard["spec"]["dnsNames"] == ["mpp.kepriprov.go.id", "*.mpp.kepriprov.go.id"]
    assert wildcard["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "Issuer",
        "name": f"{FULLNAME}-dns01",
    }
    ingress = find(docs, "Ingress", FULLNAME)
    tls = {tuple(entry["hosts"]): entry["secretName"] for entry in ingress["spec"]["tls"]}
    assert tls[("mpp.kepriprov.go.id", "*.mpp.kepriprov.go.id")] == wildcard["spec"]["secretName"]
    # mpp.batam.go.id has no Secret of its own: cert-manager issues one into the name the
    # Ingress uses; tanjungpinang brings its Secret, so no Certificate is made for it.
    (batam,) = [
        c for c in kinds(docs, "Certificate") if c["spec"]["dnsNames"] == ["mpp.batam.go.id"]
    ]
    assert batam["spec"]["issuerRef"]["name"] == "letsencrypt-http01"
    assert tls[("mpp.batam.go.id",)] == batam["spec"]["secretName"]
    assert tls[("mpp.tanjungpinangkota.go.id",)] == "tanjungpinang-tls"
    assert len(kinds(docs, "Certificate")) == 2


def test_cert_manager_with_an_existing_issuer() -> None:
    """Without createIssuer, the wildcard Certificate names the configured issuer."""
    values = ci_values("default") | {"certManager": {"enabled": True}}
    docs = render(values)
    assert kinds(docs, "Issuer") == []
    wildcard = find(docs, "Certificate", f"{FULLNAME}-wildcard")
    assert wildcard["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "ClusterIssuer",
        "name": "letsencrypt-dns01",
    }
    for doc in docs:
        validate_strict(doc)


def test_autoscalers_and_disruption_budgets_target_the_deployments() -> None:
    """HPA on web by default (no fixed replicas then); PDBs select each Deployment's pods."""
    docs = rendered("default")
    web = find(docs, "Deployment", f"{FULLNAME}-web")
    assert "replicas" not in web["spec"]  # the autoscaler owns the count
    hpa = find(docs, "HorizontalPodAutoscaler", f"{FULLNAME}-web")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{FULLNAME}-web",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    for component in ("web", "worker"):
        deployment = find(docs, "Deployment", f"{FULLNAME}-{component}")
        pdb = find(docs, "PodDisruptionBudget", f"{FULLNAME}-{component}")
        assert pdb["spec"]["maxUnavailable"] == 1
        labels = pod_template(deployment)["metadata"]["labels"]
        assert selects(pdb["spec"]["selector"], labels)
        assert selects(deployment["spec"]["selector"], labels)
        other = "worker" if component == "web" else "web"
        assert not selects(pdb["spec"]["selector"], labels | {"app.kubernetes.io/component": other})

    fixed = rendered("no-autoscaling")
    assert kinds(fixed, "HorizontalPodAutoscaler") == []
    assert find(fixed, "Deployment", f"{FULLNAME}-web")["spec"]["replicas"] == 3
    assert find(fixed, "Deployment", f"{FULLNAME}-worker")["spec"]["replicas"] == 2
    assert [p["metadata"]["name"] for p in kinds(fixed, "PodDisruptionBudget")] == [
        f"{FULLNAME}-web"
    ]
    assert find(fixed, "Deployment", f"{FULLNAME}-web")["spec"]["template"]["spec"]["containers"][
        0
    ]["image"] == ("registry.example.id/satuatap@sha256:" + "0123456789abcdef" * 4)

    worker_hpa = find(rendered("cloudnativepg"), "HorizontalPodAutoscaler", f"{FULLNAME}-worker")
    assert [m["resource"]["name"] for m in worker_hpa["spec"]["metrics"]] == ["cpu", "memory"]


@pytest.mark.parametrize("variant", ["default", "no-autoscaling"])
def test_pods_spread_over_zones_and_nodes(variant: str) -> None:
    """Each Deployment spreads its own current pods over zones and hosts."""
    for component in ("web", "worker"):
        deployment = find(rendered(variant), "Deployment", f"{FULLNAME}-{component}")
        template = pod_template(deployment)
        constraints = template["spec"]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == [
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        ]
        for constraint in constraints:
            assert selects(constraint["labelSelector"], template["metadata"]["labels"])
            assert (
                constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/component"]
                == component
            )
            assert constraint["matchLabelKeys"] == ["pod-template-hash"]
            assert constraint["maxSkew"] == 1


def test_network_policies_cover_every_pod() -> None:
    """Web pods: ingress only from the ingress controller; all pods: DNS and PostgreSQL out."""
    docs = rendered("default")
    policies = kinds(docs, "NetworkPolicy")
    for doc, template in pods(docs):
        labels = template["metadata"]["labels"]
        covering = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        assert len(covering) == 1, doc["metadata"]["name"]
        (policy,) = covering
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        egress = policy["spec"]["egress"]
        assert {"port": 53, "protocol": "UDP"} in egress[0]["ports"]
        assert egress[0]["to"] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
        ]
        assert egress[1] == {"ports": [{"port": 5432, "protocol": "TCP"}]}
        if labels["app.kubernetes.io/component"] == "web":
            assert policy["spec"]["ingress"] == [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        }
                    ],
                    "ports": [{"port": "http", "protocol": "TCP"}],
                }
            ]
        else:
            assert "ingress" not in policy["spec"]  # nothing may reach them
    # SMTP is opened only once a relay is configured.
    smtp = find(rendered("cert-manager"), "NetworkPolicy", f"{FULLNAME}-web")["spec"]["egress"]
    assert {"ports": [{"port": 587, "protocol": "TCP"}]} in smtp
    assert kinds(rendered("no-autoscaling"), "NetworkPolicy") == []


def test_cloudnativepg_option() -> None:
    """DATABASE_URL from the operator's <cluster>-app Secret; egress only to the cluster's pods."""
    docs = rendered("cloudnativepg")
    for _doc, template in pods(docs):
        env = env_of(template["spec"]["containers"][0])
        assert secret_ref(env, "DATABASE_URL") == ("satuatap-db-app", "uri", False)
        assert secret_ref(env, "SECRET_KEY") == ("satuatap-env", "SECRET_KEY", False)
    policy = find(docs, "NetworkPolicy", f"{FULLNAME}-web")
    assert policy["spec"]["egress"][1] == {
        "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "satuatap-db"}}}],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    }
    # The example Cluster the README applies first is the one these values name.
    (cluster,) = yaml.safe_load_all((CHART / "examples" / "cnpg-cluster.yaml").read_text())
    validate_strict(cluster)
    assert (
        cluster["metadata"]["name"]
        == ci_values("cloudnativepg")["database"]["cloudnativepg"]["cluster"]
    )
    assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == "satuatap"
    assert cluster["spec"]["enableSuperuserAccess"] is False


def test_citus_option() -> None:
    """Every connection turns on schema-based sharding; DATABASE_URL is the coordinator's."""
    docs = rendered("citus")
    for doc, template in pods(docs):
        env = env_of(template["spec"]["containers"][0])
        assert env["PGOPTIONS"]["value"] == "-c citus.enable_schema_based_sharding=on", doc["kind"]
        assert secret_ref(env, "DATABASE_URL") == ("citus-coordinator", "uri", False)
    egress = find(docs, "NetworkPolicy", f"{FULLNAME}-jobs")["spec"]["egress"]
    assert egress[1] == {
        "to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    }
    for _doc, template in pods(rendered("default")):
        assert "PGOPTIONS" not in env_of(template["spec"]["containers"][0])


def test_pgbouncer_option() -> None:
    """Transaction pooling: pods get the direct URL too; the migration Job uses only it."""
    docs = rendered("pgbouncer")
    for doc, template in pods(docs):
        env = env_of(template["spec"]["containers"][0])
        if doc["kind"] == "Job":
            assert env["DB_POOL_MODE"]["value"] == "session"
            assert secret_ref(env, "DATABASE_URL") == ("satuatap-env", "DATABASE_DIRECT_URL", False)
            assert "DATABASE_DIRECT_URL" not in env
        else:
            assert env["DB_POOL_MODE"]["value"] == "transaction"
            assert secret_ref(env, "DATABASE_URL") == ("satuatap-env", "DATABASE_URL", False)
            # Required: a pod without it would fail at start, so fail visibly at scheduling.
            assert secret_ref(env, "DATABASE_DIRECT_URL") == (
                "satuatap-env",
                "DATABASE_DIRECT_URL",
                False,
            )
    egress = find(docs, "NetworkPolicy", f"{FULLNAME}-web")["spec"]["egress"]
    assert egress[1] == {
        "ports": [{"port": 6432, "protocol": "TCP"}, {"port": 5432, "protocol": "TCP"}]
    }
    env = env_of(
        find(rendered("default"), "Deployment", f"{FULLNAME}-web")["spec"]["template"]["spec"][
            "containers"
        ][0]
    )
    assert secret_ref(env, "DATABASE_DIRECT_URL") == ("satuatap-env", "DATABASE_DIRECT_URL", True)


def test_shared_files_volume() -> None:
    """Web and worker share one ReadWriteMany claim on /var/lib/mpp, kept on uninstall."""
    docs = rendered("default")
    claim = find(docs, "PersistentVolumeClaim", f"{FULLNAME}-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    for component in ("web", "worker"):
        spec = find(docs, "Deployment", f"{FULLNAME}-{component}")["spec"]["template"]["spec"]
        (data,) = [v for v in spec["volumes"] if v["name"] == "data"]
        assert data["persistentVolumeClaim"]["claimName"] == f"{FULLNAME}-data"
        container = spec["containers"][0]
        assert {"name": "data", "mountPath": "/var/lib/mpp"} in container["volumeMounts"]
        env = env_of(container)
        assert env["MEDIA_ROOT"]["value"] == "/var/lib/mpp/media"
        assert env["TENANT_EXPORT_DIR"]["value"] == "/var/lib/mpp/exports"
    existing = rendered("no-autoscaling")
    assert kinds(existing, "PersistentVolumeClaim") == []
    spec = find(existing, "Deployment", f"{FULLNAME}-web")["spec"]["template"]["spec"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "satuatap-files"}} in spec[
        "volumes"
    ]


def test_notes_tell_the_operator_what_to_do_next() -> None:
    """NOTES.txt: DNS for apex and wildcard, TLS, the first operator, and what is missing."""
    notes = render_files(ci_values("default"))["satuatap/templates/NOTES.txt"]
    assert "mpp.example.id      A/CNAME" in notes
    assert "*.mpp.example.id    A/CNAME" in notes
    assert f"create secret tls {FULLNAME}-wildcard-tls" in notes
    assert f"exec deploy/{FULLNAME}-web -- mpp users invite-operator" in notes
    assert "email.host is empty" in notes
    assert "--timeout 30m" in notes
    managed = render_files(ci_values("cert-manager"))["satuatap/templates/NOTES.txt"]
    assert f"get certificate {FULLNAME}-wildcard" in managed
    assert "mpp.batam.go.id    A/CNAME" in managed
    assert "email.host is empty" not in managed


# --- refusals: the checks can fail ----------------------------------------------------------


def _without(values: dict[str, Any], key: str) -> dict[str, Any]:
    values = copy.deepcopy(values)
    del values[key]
    return values


def _with(path: str, value: Any) -> dict[str, Any]:
    """The default ci/ values with one dotted path set."""
    values = ci_values("default")
    *parents, last = path.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return values


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (_with("web.replicas", "two"), "at '/web/replicas': got string, want integer"),
        (_without(ci_values("default"), "platformDomain"), "missing property 'platformDomain'"),
        (
            _without(ci_values("default"), "secrets"),
            "at '/secrets': missing property 'existingSecret'",
        ),
        (_with("secrets.existingSecret", ""), "at '/secrets/existingSecret'"),
        (_with("platformDomain", "https://mpp.example.id"), "at '/platformDomain'"),
        (_with("platformDomain", "MPP.example.id"), "at '/platformDomain'"),
        (_with("replicaCount", 3), "additional properties 'replicaCount' not allowed"),
        (_with("web.replica", 3), "additional properties 'replica' not allowed"),
        (
            _with("extraEnv", [{"name": "SECRET_KEY", "value": "x" * 50}]),
            "at '/extraEnv/0'",
        ),
        (
            _with("extraEnv", [{"name": "SMS_GATEWAY_TOKEN", "value": "abc"}]),
            "at '/extraEnv/0'",
        ),
        (_with("podSecurityContext.runAsNonRoot", False), "at '/podSecurityContext/runAsNonRoot'"),
        # null deletes a default in Helm: the merged values then lack the limits.
        (_with("web.resources.limits", None), "missing property 'limits'"),
        (_with("web.resources.limits.memory", "lots"), "at '/web/resources/limits/memory'"),
        (
            _with("ingress.customDomains", [{"host": "mpp.batam.go.id"}]),
            "missing property 'tlsSecretName'",
        ),
        (
            _with("certManager", {"enabled": True, "createIssuer": {"enabled": True}}),
            "at '/certManager/createIssuer/email'",
        ),
        (_with("database.poolMode", "statement"), "at '/database/poolMode'"),
        (_with("migrations.parallel", 0), "at '/migrations/parallel'"),
        (_with("image.digest", "latest"), "at '/image/digest'"),
        (_with("worker.healthPort", 0), "at '/worker/healthPort'"),
        (_with("worker.healthPort", "8001"), "at '/worker/healthPort'"),
    ],
    ids=[
        "replicas-not-a-number",
        "no-platform-domain",
        "no-secrets",
        "empty-secret-name",
        "domain-with-scheme",
        "domain-upper-case",
        "unknown-top-level-key",
        "misspelt-nested-key",
        "secret-setting-inlined",
        "secret-looking-variable-inlined",
        "root-allowed",
        "no-limits",
        "bad-quantity",
        "custom-domain-without-certificate",
        "issuer-without-email-or-solver",
        "unknown-pool-mode",
        "no-migration-processes",
        "tag-as-digest",
        "worker-health-port-zero",
        "worker-health-port-string",
    ],
)
def test_values_breaking_the_schema_are_refused(values: dict[str, Any], message: str) -> None:
    """values.schema.json stops the render (and so the install), naming the value."""
    with pytest.raises(helm.HelmValuesError) as refused:
        render_files(values)
    assert message in str(refused.value)


def test_lint_reports_values_breaking_the_schema() -> None:
    """`helm lint` reports the same refusal as an error."""
    report = helm.lint(CHART, _with("web.replicas", "two"), strict=True)
    assert any(m["severity"] == 3 for m in report["messages"])
    assert any("got string, want integer" in e for e in report["errors"])


def test_lint_with_no_values_asks_for_the_required_ones() -> None:
    """The chart's own defaults are incomplete on purpose: the domain and Secret are required."""
    report = helm.lint(CHART, None, strict=True)
    assert any("missing property 'platformDomain'" in e for e in report["errors"])


def _citus_behind_pgbouncer() -> dict[str, Any]:
    """The PgBouncer ci/ values with Citus' PGOPTIONS switched on as well."""
    values = ci_values("pgbouncer")
    values["database"].setdefault("citus", {})["schemaBasedSharding"] = True
    return values


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            _with("web.autoscaling", {"enabled": True, "minReplicas": 5, "maxReplicas": 3}),
            "web.autoscaling: minReplicas (5) must not exceed maxReplicas (3)",
        ),
        (
            _with(
                "ingress.customDomains",
                [{"host": "batam.mpp.example.id", "tlsSecretName": "batam-tls"}],
            ),
            "batam.mpp.example.id is the apex or a subdomain of platformDomain",
        ),
        (
            _with("web.terminationGracePeriodSeconds", 30),
            "web.terminationGracePeriodSeconds (30) must be at least",
        ),
        (
            _citus_behind_pgbouncer(),
            "PgBouncer refuses (unsupported startup parameter: options)",
        ),
    ],
    ids=[
        "min-above-max",
        "custom-domain-under-apex",
        "grace-shorter-than-timeout",
        "citus-options-through-pgbouncer",
    ],
)
def test_inconsistent_values_fail_the_render(values: dict[str, Any], message: str) -> None:
    """Rules across values that a schema cannot say are checked by the templates."""
    with pytest.raises(helm.HelmRenderError) as refused:
        render_files(values)
    assert message in str(refused.value)


def test_strict_validation_catches_a_broken_manifest() -> None:
    """A misspelt field passes lenient validation but not strict; a wrong type fails both."""
    web = find(rendered("default"), "Deployment", f"{FULLNAME}-web")
    misspelt = copy.deepcopy(web)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = (
        "/"
    )
    kubernetes_validate.validate(misspelt, KUBE_VERSION, strict=False)
    with pytest.raises(kubernetes_validate.ValidationError, match="'pathh' was unexpected"):
        validate_strict(misspelt)
    wrong_type = copy.deepcopy(web)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    with pytest.raises(kubernetes_validate.ValidationError, match="is not of type 'integer'"):
        validate_strict(wrong_type)
    # A kind with no known schema is not waved through.
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate_strict(
            {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
        )
    # Nor is a CRD object with a field cert-manager does not have.
    certificate = find(rendered("cert-manager"), "Certificate", f"{FULLNAME}-wildcard")
    certificate["spec"]["dnsName"] = certificate["spec"].pop("dnsNames")
    with pytest.raises(jsonschema.ValidationError):
        validate_strict(certificate)


def test_a_broken_template_fails_the_checks(tmp_path: Path) -> None:
    """A copy of the chart with a bad field, then with bad YAML: validation and lint fail."""
    chart = tmp_path / "satuatap"
    shutil.copytree(CHART, chart)
    template = chart / "templates" / "worker-deployment.yaml"
    source = template.read_text()
    template.write_text(source.replace("terminationGracePeriodSeconds:", "terminationGracePeriod:"))
    worker = find(render(ci_values("default"), chart), "Deployment", f"{FULLNAME}-worker")
    with pytest.raises(kubernetes_validate.ValidationError, match="terminationGracePeriod"):
        validate_strict(worker)

    template.write_text(source.replace("  replicas:", "  replicas:: :"))
    report = helm.lint(chart, ci_values("default"), strict=True)
    broken = [m for m in report["messages"] if m["severity"] == 3]
    assert broken and "worker-deployment.yaml" in broken[0]["path"], report
    assert "unable to parse YAML" in broken[0]["error"]
    with pytest.raises(yaml.YAMLError):
        render(ci_values("default"), chart)


# --- values documented ---------------------------------------------------------------------


def _schema_properties(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any]]:
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}.{name}", prop
        yield from _schema_properties(prop, f"{path}.{name}")


def test_values_schema_describes_every_value() -> None:
    """Each value in values.schema.json carries a description (directly or via its definition)."""
    schema = yaml.safe_load((CHART / "values.schema.json").read_text())
    definitions = schema["definitions"]
    missing = []
    for path, prop in _schema_properties(schema):
        target = definitions[prop["$ref"].rsplit("/", 1)[1]] if "$ref" in prop else prop
        if not target.get("description"):
            missing.append(path)
    assert missing == []
    assert schema["additionalProperties"] is False


def test_values_yaml_comments_every_top_level_value() -> None:
    """values.yaml explains each top-level value in a comment just above it."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    top_level = [i for i, line in enumerate(lines) if re.match(r"^[a-zA-Z]\w*:", line)]
    assert len(top_level) >= 20
    uncommented = [lines[i] for i in top_level if not lines[i - 1].startswith("#")]
    assert uncommented == []
