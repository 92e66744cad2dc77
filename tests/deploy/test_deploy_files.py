"""The deployment files agree with the code and with each other: compose, Prometheus, Kubernetes.

No Docker engine and no cluster: the files are parsed and cross-checked, and
Prometheus's own `promtool` checks the scrape config and the alert rules and
runs the alerts against synthetic series. The services are found on disk
(`services/*/Dockerfile`), so a new service that is missing from any of these
files makes a test fail instead of silently going undeployed or unscraped.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
PROMETHEUS_RULES = PROMETHEUS_DIR / "rules.yml"
K8S_DIR = ROOT / "deploy" / "k8s"
# Kept out of kustomization.yaml on purpose: applying it would install placeholders.
K8S_NOT_APPLIED = {"kustomization.yaml", "secret.example.yaml"}
# Kinds with no schema in kubernetes-validate (CRDs and kustomize's own file):
# checked structurally below instead.
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "Kustomization"}
# The oldest Kubernetes the manifests must be valid for.
K8S_VERSION = "1.29"


def _discover_services() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/Dockerfile")
                  if (p.parent / "pyproject.toml").exists())


SERVICES = _discover_services()


def db_name(service: str) -> str:
    return service.replace("-", "_")


def env_name(service: str) -> str:
    return service.upper().replace("-", "_")


def bind_port(command: list[str]) -> int:
    """The port of `gunicorn ... --bind 0.0.0.0:<port>`."""
    assert command[:3] == ["gunicorn", "-c", "gunicorn.conf.py"], command
    assert "--bind" in command, command
    host, _, port = command[command.index("--bind") + 1].rpartition(":")
    assert host == "0.0.0.0", f"{command}: must listen on all interfaces inside a container"
    return int(port)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def containers(compose) -> dict:
    return compose["services"]


def _require_containers(containers: dict, role: str) -> None:
    missing = [s for s in SERVICES if f"{s}-{role}" not in containers]
    if missing:
        pytest.fail(f"docker-compose.yml has no {role} container for {missing}")


@pytest.fixture(scope="module")
def web_ports(containers) -> dict[str, int]:
    _require_containers(containers, "web")
    return {s: bind_port(containers[f"{s}-web"]["command"]) for s in SERVICES}


@pytest.fixture(scope="module")
def worker_ports(containers) -> dict[str, int]:
    _require_containers(containers, "worker")
    return {s: int(containers[f"{s}-worker"]["environment"]["WORKER_METRICS_PORT"]) for s in SERVICES}


@pytest.fixture(scope="module")
def prometheus() -> dict:
    return yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def k8s_files() -> dict[str, list[dict]]:
    """file name -> its documents, for every YAML file in deploy/k8s."""
    files = {}
    for path in sorted(K8S_DIR.glob("*.y*ml")):
        files[path.name] = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                            if doc is not None]
    return files


@pytest.fixture(scope="module")
def k8s_applied(k8s_files) -> list[dict]:
    """Every resource `kubectl apply -k deploy/k8s` creates."""
    kustomization = k8s_files["kustomization.yaml"][0]
    return [doc for name in kustomization["resources"] for doc in k8s_files[name]]


def find(resources: list[dict], kind: str, name: str) -> dict:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r} in deploy/k8s, found {len(matches)}"
    return matches[0]


def pod_spec(resource: dict) -> dict:
    return resource["spec"]["template"]["spec"]


def all_containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def container_env(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}


def test_the_five_services_are_found_on_disk():
    # Guards every parametrized test below against passing on an empty list.
    assert {"grid-registry", "incidents", "dispatch", "assessment", "rewards"} <= set(SERVICES)


# ---------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_migrate_web_and_worker_of_every_service_from_one_image(containers, service):
    migrate, web, worker = (containers.get(f"{service}-{role}") for role in ("migrate", "web", "worker"))
    assert migrate and web and worker, f"{service}: needs {service}-migrate, -web and -worker in compose"
    assert migrate["command"] == [f"envgrid-{service}", "migrate"]
    assert worker["command"] == [f"envgrid-{service}", "worker"]
    bind_port(web["command"])
    for box in (migrate, web, worker):
        assert box["build"] == {"context": ".", "dockerfile": f"services/{service}/Dockerfile"}
        assert box["image"] == migrate["image"], "the three processes of a service share one image"


@pytest.mark.parametrize("service", SERVICES + ["gateway"])
def test_web_and_worker_start_only_after_their_migration_succeeded(containers, service):
    migrate_name = f"{service}-migrate"
    migrate = containers.get(migrate_name)
    assert migrate, f"docker-compose.yml has no {migrate_name}"
    assert migrate["restart"] == "no", "a one-off: restarting it would re-run forever"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    long_running = ["gateway"] if service == "gateway" else [f"{service}-web", f"{service}-worker"]
    for name in long_running:
        condition = containers[name]["depends_on"].get(migrate_name, {}).get("condition")
        assert condition == "service_completed_successfully", f"{name} must wait for {migrate_name}"


def test_each_service_has_its_own_database_and_init_sql_creates_exactly_those(containers):
    owners: dict[str, str] = {}
    for service in SERVICES + ["gateway"]:
        names = ["gateway", "gateway-migrate"] if service == "gateway" else \
            [f"{service}-{role}" for role in ("migrate", "web", "worker")]
        for name in names:
            assert name in containers, f"docker-compose.yml has no {name}"
            env = containers[name]["environment"]
            assert not any(k.endswith("_DATABASE_URL") for k in env), f"{name}: use plain DATABASE_URL"
            url = urlsplit(env["DATABASE_URL"])
            assert url.scheme == "postgresql", name
            assert url.hostname == "postgres" and url.port == 5432, name
            assert "${POSTGRES_PASSWORD" in env["DATABASE_URL"], f"{name}: password from the environment"
            database = url.path.lstrip("/")
            assert database == db_name(service), f"{name} uses database {database!r}"
            assert owners.setdefault(database, service) == service, f"{database} shared by two services"
    created = set(re.findall(r"^\s*CREATE DATABASE\s+(\w+)\s*;", INIT_SQL.read_text(), re.M | re.I))
    assert created == set(owners), "deploy/postgres/init.sql must create one database per service"
    mounts = containers["postgres"]["volumes"]
    assert any(m.startswith("./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/") for m in mounts)


def test_ports_are_unique_and_match_each_image(web_ports, worker_ports):
    ports = list(web_ports.values()) + list(worker_ports.values()) + [8000]
    assert len(ports) == len(set(ports)), f"port used twice: {ports}"
    for service in SERVICES:
        folder = ROOT / "services" / service
        exposed = re.search(r"^EXPOSE\s+(.+)$", (folder / "Dockerfile").read_text(), re.M)
        assert exposed, f"services/{service}/Dockerfile: no EXPOSE"
        assert {web_ports[service], worker_ports[service]} <= {int(p) for p in exposed.group(1).split()}
        # The port the service's own gunicorn.conf.py uses outside containers.
        default_bind = re.search(r'"BIND",\s*"[\d.]+:(\d+)"', (folder / "gunicorn.conf.py").read_text())
        assert default_bind and int(default_bind.group(1)) == web_ports[service], service


def test_long_running_containers_have_health_checks_and_restart_policies(containers, web_ports):
    for name, box in containers.items():
        if name.endswith("-migrate"):
            continue
        assert box.get("restart") in ("unless-stopped", "always", "on-failure"), f"{name}: restart policy"
        test = box.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name}: health check"
    for service, port in web_ports.items():
        assert str(port) in containers[f"{service}-web"]["healthcheck"]["test"], f"{service}-web probes its port"
    assert "8000" in containers["gateway"]["healthcheck"]["test"]
    for service in SERVICES:
        # The shared probe script falls back to the worker's own metrics port.
        assert "WORKER_METRICS_PORT" in " ".join(containers[f"{service}-worker"]["healthcheck"]["test"])


def test_web_processes_keep_multiprocess_metrics_on_a_tmpfs_and_workers_do_not(containers):
    for name in [f"{s}-web" for s in SERVICES] + ["gateway"]:
        directory = containers[name]["environment"].get("PROMETHEUS_MULTIPROC_DIR", "")
        assert any(directory.startswith(t.rstrip("/") + "/") for t in containers[name].get("tmpfs", [])), \
            f"{name}: PROMETHEUS_MULTIPROC_DIR must live on a tmpfs"
    for service in SERVICES:
        # One process serving its own registry; the directory would not even exist there.
        assert "PROMETHEUS_MULTIPROC_DIR" not in containers[f"{service}-worker"]["environment"]


def test_gateway_reaches_every_service_web_and_is_the_published_entry(containers, web_ports):
    gateway = containers["gateway"]
    assert gateway["build"] == {"context": ".", "dockerfile": "gateway/Dockerfile"}
    assert bind_port(gateway["command"]) == 8000
    assert any(str(p).endswith(":8000") for p in gateway["ports"])
    env = gateway["environment"]
    for service in SERVICES:
        assert env.get(f"UPSTREAM_{env_name(service)}_URL") == f"http://{service}-web:{web_ports[service]}"
    identity = {containers[f"{s}-web"]["environment"]["IDENTITY_SECRET"] for s in SERVICES}
    assert identity == {env["IDENTITY_SECRET"]}, "gateway and services must share IDENTITY_SECRET"
    for service in SERVICES:
        assert "ports" not in containers[f"{service}-web"], "services are reached through the gateway"


def test_secrets_come_from_the_environment_not_from_the_file(containers):
    secret_keys = {"IDENTITY_SECRET", "POSTGRES_PASSWORD", "RABBITMQ_DEFAULT_PASS"}
    for name, box in containers.items():
        for key, value in (box.get("environment") or {}).items():
            if key in secret_keys:
                assert str(value).startswith("${"), f"{name}: {key} must be ${{VAR...}}"
            if key == "AMQP_URL":
                assert "${RABBITMQ_PASSWORD" in value and "guest" not in value, name


def test_infrastructure_versions_and_named_volumes(compose, containers):
    assert containers["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert containers["postgres"]["image"].split(":")[1].startswith("16")
    declared = set(compose.get("volumes") or {})
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("rabbitmq", "/var/lib/rabbitmq"),
                       ("prometheus", "/prometheus")):
        mounts = [v.split(":") for v in containers[name]["volumes"]]
        sources = [source for source, target, *_ in mounts if target == path]
        assert sources and sources[0] in declared, f"{name}: {path} on a named volume"


# ---------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------
def scrape_targets(prometheus: dict) -> set[str]:
    return {target for job in prometheus["scrape_configs"]
            for group in job.get("static_configs", []) for target in group["targets"]}


def test_every_web_worker_and_gateway_process_is_scraped(prometheus, containers, web_ports, worker_ports):
    expected = {f"{s}-web:{p}" for s, p in web_ports.items()} | \
               {f"{s}-worker:{p}" for s, p in worker_ports.items()} | {"gateway:8000"}
    scraped = scrape_targets(prometheus)
    assert not expected - scraped, f"not scraped: {sorted(expected - scraped)}"
    stale = {t for t in scraped if t.split(":")[0] not in containers and not t.startswith("localhost:")}
    assert not stale, f"scrape targets with no compose service: {sorted(stale)}"


def test_compose_prometheus_loads_this_config_and_its_rules(prometheus, containers):
    box = containers["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in box["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in box["command"]
    for rule_file in prometheus["rule_files"]:
        assert (PROMETHEUS_DIR / rule_file).is_file(), f"rule file {rule_file} (relative to the config)"


def test_alert_rules_watch_outbox_dead_letters_targets_and_errors():
    rules = [r for g in yaml.safe_load(PROMETHEUS_RULES.read_text())["groups"] for r in g["rules"]]
    exprs = " ".join(r["expr"] for r in rules)
    for needle in ("envgrid_outbox_oldest_unsent_seconds", "envgrid_events_dead_lettered_total",
                   "up == 0", 'envgrid_http_requests_total{status=~"5.."'):
        assert needle in exprs, f"no alert uses {needle}"
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not on PATH: install Debian package prometheus "
                    "(apt-get update && apt-get install -y prometheus)")
    return path


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> None:
    result = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def test_promtool_accepts_the_scrape_config():
    # Also loads rules.yml, resolved relative to the config file as Prometheus does.
    run_promtool("check", "config", str(PROMETHEUS_CONFIG))


def test_promtool_accepts_the_alert_rules():
    run_promtool("check", "rules", str(PROMETHEUS_RULES))


# Synthetic series (one sample a minute) and the alerts they must raise, or not.
ALERT_UNIT_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # incidents' oldest unsent event ages by a minute a minute: > 300 s from minute 6.
      - series: 'envgrid_outbox_oldest_unsent_seconds{{job="envgrid-worker",instance="incidents-worker:9102",service="incidents",process="worker"}}'
        values: '0+60x12'
      # dispatch's relay keeps up: small, flat.
      - series: 'envgrid_outbox_oldest_unsent_seconds{{job="envgrid-worker",instance="dispatch-worker:9103",service="dispatch",process="worker"}}'
        values: '1x12'
      # assessment's backlog grows by 10 a minute for 40 minutes.
      - series: 'envgrid_outbox_backlog{{job="envgrid-worker",instance="assessment-worker:9104",service="assessment",process="worker"}}'
        values: '0+10x40'
      - series: 'envgrid_events_dead_lettered_total{{job="envgrid-worker",instance="dispatch-worker:9103",service="dispatch",process="worker",type="incident.reported"}}'
        values: '0 0 1 1 1 1'
      - series: 'up{{job="envgrid-web",instance="rewards-web:8005"}}'
        values: '1 0 0 0 0 0'
      - series: 'up{{job="envgrid-web",instance="incidents-web:8002"}}'
        values: '1 1 1 1 1 1'
      # incidents: 1 req/s OK and 0.2 req/s 500 -> 17 % errors.
      - series: 'envgrid_http_requests_total{{job="envgrid-web",instance="incidents-web:8002",service="incidents",process="web",route="/api/v1/incidents/reports",method="POST",status="201"}}'
        values: '0+60x20'
      - series: 'envgrid_http_requests_total{{job="envgrid-web",instance="incidents-web:8002",service="incidents",process="web",route="/api/v1/incidents/reports",method="POST",status="500"}}'
        values: '0+12x20'
      # dispatch: only /readyz answering 503 (broker down) -> not an error-ratio alert.
      - series: 'envgrid_http_requests_total{{job="envgrid-web",instance="dispatch-web:8003",service="dispatch",process="web",route="/readyz",method="GET",status="503"}}'
        values: '0+60x20'
      - series: 'envgrid_http_requests_total{{job="envgrid-web",instance="dispatch-web:8003",service="dispatch",process="web",route="/api/v1/dispatch/cases",method="GET",status="200"}}'
        values: '0+60x20'
    alert_rule_test:
      - eval_time: 5m
        alertname: EnvgridOutboxStalled
        exp_alerts: []
      - eval_time: 8m
        alertname: EnvgridOutboxStalled
        exp_alerts:
          - exp_labels: {{severity: critical, service: incidents}}
            exp_annotations:
              summary: "incidents: oldest unsent outbox event is 8m 0s old"
              description: "Events are written but not published. Check the worker's relay (envgrid_broker_connected{{role=\\"relay\\"}}) and RabbitMQ; `envgrid-incidents outbox` shows the backlog."
      - eval_time: 35m
        alertname: EnvgridOutboxBacklogGrowing
        exp_alerts:
          - exp_labels: {{severity: warning, service: assessment}}
            exp_annotations:
              summary: "assessment: outbox backlog growing (350 unsent)"
      - eval_time: 1m
        alertname: EnvgridEventsDeadLettered
        exp_alerts: []
      - eval_time: 3m
        alertname: EnvgridEventsDeadLettered
        exp_alerts:
          - exp_labels: {{severity: warning, service: dispatch, type: incident.reported}}
            exp_annotations:
              summary: "dispatch: 1 incident.reported event(s) dead-lettered in 15 min"
              description: "Inspect with `envgrid-dispatch dead-letters list`, fix the cause, then `envgrid-dispatch dead-letters replay`."
      - eval_time: 4m
        alertname: EnvgridTargetDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: envgrid-web, instance: "rewards-web:8005"}}
            exp_annotations:
              summary: "envgrid-web target rewards-web:8005 is down"
      - eval_time: 15m
        alertname: EnvgridHttp5xxRatioHigh
        exp_alerts:
          - exp_labels: {{severity: critical, service: incidents}}
            exp_annotations:
              summary: "incidents: 16.67% of requests fail with 5xx"
"""


def test_alerts_fire_on_synthetic_series_and_stay_quiet_otherwise(tmp_path):
    tests = tmp_path / "alerts_test.yml"
    tests.write_text(textwrap.dedent(ALERT_UNIT_TESTS.format(rules=PROMETHEUS_RULES)), encoding="utf-8")
    run_promtool("test", "rules", str(tests), cwd=tmp_path)


# ---------------------------------------------------------------------------
# Kubernetes (deploy/k8s)
# ---------------------------------------------------------------------------
def test_k8s_files_parse_and_every_document_is_a_named_resource(k8s_files):
    assert "kustomization.yaml" in k8s_files and len(k8s_files) > 2
    for name, docs in k8s_files.items():
        assert docs, f"{name} is empty"
        for doc in docs:
            assert doc.get("apiVersion") and doc.get("kind"), name
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], name
                assert "namespace" not in doc["metadata"], f"{name}: kustomization sets the namespace"


def test_kustomization_lists_every_manifest_and_no_placeholder_secret(k8s_files, k8s_applied):
    kustomization = k8s_files["kustomization.yaml"][0]
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a file listed twice"
    assert set(listed) == set(k8s_files) - K8S_NOT_APPLIED, \
        f"deploy/k8s files and kustomization resources differ: {set(listed) ^ (set(k8s_files) - K8S_NOT_APPLIED)}"
    assert kustomization["namespace"] == "envgrid"
    assert not [r for r in k8s_applied if r["kind"] == "Secret"], "real secrets are never committed"
    assert {r["kind"] for r in k8s_files["secret.example.yaml"]} == {"Secret"}
    images = {i["name"] for i in kustomization["images"]}
    used = {c["image"] for r in k8s_applied if r["kind"] in ("Deployment", "Job")
            for c in all_containers(pod_spec(r))}
    assert used == images, "every image is pinned in kustomization.yaml and every pin is used"


def test_k8s_resources_match_the_kubernetes_schema(k8s_files):
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is not installed: pip install kubernetes-validate")
    problems = []
    for name, docs in k8s_files.items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                if doc["kind"] not in CUSTOM_KINDS:
                    problems.append(f"{name}: no schema for {doc['apiVersion']} {doc['kind']}")
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(part) for part in exc.absolute_path)
                problems.append(f"{name}: {doc['kind']} {doc['metadata'].get('name')}: {where}: {exc.message}")
    assert not problems, "\n".join(problems)


def probe_port(container: dict, probe: dict) -> int:
    port = probe["httpGet"]["port"]
    by_name = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    numbers = {p["containerPort"] for p in container.get("ports", [])}
    assert port in by_name or port in numbers, f"{container['name']}: probe port {port} is not declared"
    return by_name.get(port, port)


def test_every_deployment_has_readiness_and_liveness_probes_and_resource_limits(k8s_applied):
    workloads = [r for r in k8s_applied if r["kind"] in ("Deployment", "Job")]
    assert workloads
    for resource in workloads:
        where = f"{resource['kind']} {resource['metadata']['name']}"
        spec = pod_spec(resource)
        for container in all_containers(spec):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{where}/{container['name']}: {kind}"
        if resource["kind"] != "Deployment":
            continue
        for container in spec["containers"]:
            ready, live = container.get("readinessProbe"), container.get("livenessProbe")
            assert ready and live, f"{where}: readiness and liveness probes"
            assert ready["httpGet"]["path"] == "/readyz", where
            assert live["httpGet"]["path"] == "/healthz", where
            assert probe_port(container, ready) == probe_port(container, live), where


def test_every_pod_runs_as_the_restricted_pod_security_standard_requires(k8s_files, k8s_applied):
    namespace = find(k8s_applied, "Namespace", "envgrid")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in (r for r in k8s_applied if r["kind"] in ("Deployment", "Job")):
        spec = pod_spec(resource)
        where = resource["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        # The images say `USER nobody`, a name the kubelet cannot check against runAsNonRoot.
        assert spec["securityContext"]["runAsUser"] == 65534, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for container in all_containers(spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context["readOnlyRootFilesystem"] is True, where
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}/{container['name']}: a writable /tmp"


def test_secret_and_config_references_resolve(k8s_files, k8s_applied):
    secrets = {s["metadata"]["name"]: set(s["stringData"]) for s in k8s_files["secret.example.yaml"]}
    config_maps = {c["metadata"]["name"]: set(c["data"]) for c in k8s_applied if c["kind"] == "ConfigMap"}
    for resource in (r for r in k8s_applied if r["kind"] in ("Deployment", "Job")):
        spec = pod_spec(resource)
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, volume
        for container in all_containers(spec):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, source
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets.get(ref["name"], ()), f"{resource['metadata']['name']}: {ref}"
    for auth in (r for r in k8s_applied if r["kind"] == "TriggerAuthentication"):
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in secrets.get(ref["name"], ()), ref


def check_service_routes_to(k8s_applied, service_name: str, deployment_name: str, port: int) -> None:
    service = find(k8s_applied, "Service", service_name)
    deployment = find(k8s_applied, "Deployment", deployment_name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items(), f"Service {service_name} selects no pod"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (entry,) = service["spec"]["ports"]
    assert entry["port"] == port
    container = pod_spec(deployment)["containers"][0]
    assert probe_port(container, {"httpGet": {"port": entry["targetPort"]}}) == port


def check_scraped(deployment: dict, port: int) -> None:
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"


def check_waits_for_migrations(deployment: dict, program: str) -> None:
    (init,) = pod_spec(deployment)["initContainers"]
    assert f"{program} check-migrations" in " ".join(init["command"]), deployment["metadata"]["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_runs_each_service_like_compose(k8s_applied, containers, web_ports, worker_ports, service):
    program = f"envgrid-{service}"
    own_secret = f"{service}-database"

    job = find(k8s_applied, "Job", f"{service}-migrate")
    assert pod_spec(job)["containers"][0]["command"] == [program, "migrate"]
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")

    web = find(k8s_applied, "Deployment", f"{service}-web")
    (web_box,) = pod_spec(web)["containers"]
    assert bind_port(web_box["command"]) == web_ports[service]
    assert "replicas" not in web["spec"], "the HPA owns the web replica count"
    check_service_routes_to(k8s_applied, f"{service}-web", f"{service}-web", web_ports[service])
    check_scraped(web, web_ports[service])
    check_waits_for_migrations(web, program)
    hpa = find(k8s_applied, "HorizontalPodAutoscaler", f"{service}-web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{service}-web"}
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]

    worker = find(k8s_applied, "Deployment", f"{service}-worker")
    (worker_box,) = pod_spec(worker)["containers"]
    assert worker_box["command"] == [program, "worker"]
    assert container_env(worker_box)["WORKER_METRICS_PORT"]["value"] == str(worker_ports[service])
    assert probe_port(worker_box, worker_box["readinessProbe"]) == worker_ports[service]
    assert "replicas" not in worker["spec"], "KEDA owns the worker replica count"
    check_scraped(worker, worker_ports[service])
    check_waits_for_migrations(worker, program)
    scaled = find(k8s_applied, "ScaledObject", f"{service}-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == f"{service}-worker"
    assert scaled["spec"]["minReplicaCount"] >= 1, "the worker also runs the outbox relay and timers"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == f"{service}.events"
    assert trigger["metadata"]["mode"] == "QueueLength"
    find(k8s_applied, "TriggerAuthentication", trigger["authenticationRef"]["name"])

    # Each pod gets its own service's database and no other's.
    for resource in (job, web, worker):
        for box in all_containers(pod_spec(resource)):
            env = container_env(box)
            assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == own_secret
            refs = {item["valueFrom"]["secretKeyRef"]["name"] for item in env.values()
                    if "secretKeyRef" in item.get("valueFrom", {})}
            assert not {r for r in refs if r.endswith("-database")} - {own_secret}, resource["metadata"]["name"]


def test_k8s_gateway_is_exposed_and_reaches_every_service(k8s_applied, web_ports):
    gateway = find(k8s_applied, "Deployment", "gateway")
    (box,) = pod_spec(gateway)["containers"]
    assert bind_port(box["command"]) == 8000
    check_service_routes_to(k8s_applied, "gateway", "gateway", 8000)
    check_scraped(gateway, 8000)
    check_waits_for_migrations(gateway, "envgrid-gateway")
    job = find(k8s_applied, "Job", "gateway-migrate")
    assert pod_spec(job)["containers"][0]["command"] == ["envgrid-gateway", "migrate"]
    upstreams = {}
    for source in box["envFrom"]:
        upstreams.update(find(k8s_applied, "ConfigMap", source["configMapRef"]["name"])["data"])
    for service in SERVICES:
        url = urlsplit(upstreams[f"UPSTREAM_{env_name(service)}_URL"])
        # The URL names the service's web Service on its port.
        find(k8s_applied, "Service", url.hostname)
        assert (url.hostname, url.port) == (f"{service}-web", web_ports[service])
    ingress = find(k8s_applied, "Ingress", "gateway")
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"]]
    assert backends and all(b["name"] == "gateway" for b in backends)
    public = {path["path"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert "/" not in public, "the gateway's /metrics and probes stay inside the cluster"
