"""The compose stack, the Grafana provisioning and the Kubernetes manifests fit together and
load with the bridge's own loaders (a Docker engine or cluster is not needed to check them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.app import create_app
from bridge.cutover.policy import load_policy
from bridge.settings import read_apps_file
from tests.conftest import basic_auth
from tests.deploy.promql import DASHBOARD, DEPLOY

COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes"
GRAFANA = DEPLOY / "grafana"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def manifests() -> dict[str, dict[str, Any]]:
    """`Kind/name` -> manifest, for every document in deploy/kubernetes."""
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document and "kind" in document and document["kind"] != "Kustomization":
                found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to deploy/) of a compose service's bind mounts."""
    binds = (volume.split(":") for volume in service.get("volumes", []))
    return {parts[1]: parts[0] for parts in binds if parts[0].startswith(".")}


def test_compose_runs_the_whole_stack() -> None:
    services = load(COMPOSE)["services"]
    assert {"bridge", "postgres", "prometheus", "grafana", "sandbox"} <= set(services)
    assert services["sandbox"]["command"][0] == "sandbox"
    assert services["bridge"]["command"] == ["serve"]


def test_compose_bind_mounts_exist() -> None:
    for name, service in load(COMPOSE)["services"].items():
        for host in mounts(service).values():
            assert (DEPLOY / host).exists(), f"{name}: {host}"


def test_compose_bridge_configuration_loads() -> None:
    bridge = load(COMPOSE)["services"]["bridge"]
    host_dir = DEPLOY / mounts(bridge)["/etc/orders-bridge"]
    environment = bridge["environment"]
    apps = read_apps_file(host_dir / Path(environment["BRIDGE_CONFIG_FILE"]).name)
    policy = load_policy(
        host_dir / Path(environment["BRIDGE_POLICY_FILE"]).name, apps, datetime.now(UTC)
    )
    assert apps[0].incentives is not None
    assert apps[0].incentives.base_url == "http://sandbox:8090"
    assert policy.version.hash


def test_compose_prometheus_scrapes_the_bridge_service_with_the_rules() -> None:
    prometheus = load(COMPOSE)["services"]["prometheus"]
    config_dir = DEPLOY / mounts(prometheus)["/etc/prometheus"]
    config = load(config_dir / "prometheus.yml")
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "orders-bridge"]
    assert job["static_configs"][0]["targets"] == ["bridge:8080"]
    assert list(config_dir.glob(config["rule_files"][0]))


def test_grafana_provisions_the_dashboard_from_the_mounted_folder() -> None:
    grafana = load(COMPOSE)["services"]["grafana"]
    provider = load(GRAFANA / "provisioning" / "dashboards" / "orders-bridge.yaml")
    folder = provider["providers"][0]["options"]["path"]
    assert (DEPLOY / mounts(grafana)[folder] / DASHBOARD.name).is_file()
    assert mounts(grafana)["/etc/grafana/provisioning"] == "./grafana/provisioning"


def test_dashboard_queries_the_provisioned_datasource() -> None:
    datasource = load(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")
    uid = datasource["datasources"][0]["uid"]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert {panel["datasource"]["uid"] for panel in panels} == {uid}


def test_dashboard_shows_what_a_cutover_needs() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = " | ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in (
        "traffic share per target",
        "shadow match rate",
        "errors by legacy code",
        "p50 / p95 / p99 per target",
        "upstream calls",
        "circuit breaker",
        "fallbacks",
        "ready",
    ):
        assert topic in titles


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = set(load(KUBERNETES / "kustomization.yaml")["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")}
    assert listed == present - {"kustomization.yaml", "secret.example.yaml"}


def test_deployment_probes_the_health_routes() -> None:
    container = manifests()["Deployment/orders-bridge"]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"][0]["name"] == container["readinessProbe"]["httpGet"]["port"]


def test_deployment_terminates_gracefully() -> None:
    pod = manifests()["Deployment/orders-bridge"]["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + 30


def test_selectors_match_the_pods() -> None:
    found = manifests()
    labels = found["Deployment/orders-bridge"]["spec"]["template"]["metadata"]["labels"]
    for name in ("Service/orders-bridge", "Service/orders-bridge-pods"):
        assert found[name]["spec"]["selector"].items() <= labels.items()
    pdb = found["PodDisruptionBudget/orders-bridge"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= labels.items()
    target = found["HorizontalPodAutoscaler/orders-bridge"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "orders-bridge")


def test_policy_configmap_is_mounted_where_the_bridge_reads_it() -> None:
    found = manifests()
    pod = found["Deployment/orders-bridge"]["spec"]["template"]["spec"]
    env = {item["name"]: item.get("value") for item in pod["containers"][0]["env"]}
    (volume,) = [v for v in pod["volumes"] if v.get("configMap")]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    policy_file = Path(env["BRIDGE_POLICY_FILE"])
    assert str(policy_file.parent) == mount["mountPath"]
    assert policy_file.name in found[f"ConfigMap/{volume['configMap']['name']}"]["data"]


def test_policy_configmap_loads_with_the_example_apps(tmp_path: Path) -> None:
    found = manifests()
    apps_file = tmp_path / "apps.yaml"
    apps_file.write_text(found["Secret/orders-bridge"]["stringData"]["apps.yaml"])
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(found["ConfigMap/orders-bridge-policy"]["data"]["policy.yaml"])
    policy = load_policy(policy_file, read_apps_file(apps_file), datetime.now(UTC))
    assert policy.version.hash


def test_headless_service_is_what_prometheus_discovers() -> None:
    scrape = load(DEPLOY / "prometheus" / "kubernetes-scrape.yml")
    (name,) = scrape["scrape_configs"][0]["dns_sd_configs"][0]["names"]
    service, namespace = name.split(".")[:2]
    headless = manifests()[f"Service/{service}"]
    assert headless["spec"]["clusterIP"] == "None"
    assert namespace == load(KUBERNETES / "kustomization.yaml")["namespace"]


def test_dashboard_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not area & cells, panel["title"]
        cells |= area


def rendered_kustomization() -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/kubernetes` when kubectl is here, else the listed files."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        listed = load(KUBERNETES / "kustomization.yaml")["resources"]
        texts = [(KUBERNETES / name).read_text(encoding="utf-8") for name in listed]
    else:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [kubectl, "kustomize", str(KUBERNETES)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        texts = [done.stdout]
    return [d for text in texts for d in yaml.safe_load_all(text) if d]


def test_migrations_run_before_any_pod_of_a_release_serves() -> None:
    documents = rendered_kustomization()
    kinds = {document["kind"] for document in documents}
    assert "Job" not in kinds, "a Job is applied alongside the Deployment and is immutable"
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    (bridge,) = pod["containers"]
    assert migrate["args"] == ["db", "upgrade"]
    assert migrate["image"] == bridge["image"]
    database = [e for e in migrate["env"] if e["name"] == "BRIDGE_DATABASE_URL"]
    assert database == [e for e in bridge["env"] if e["name"] == "BRIDGE_DATABASE_URL"]


def test_kustomize_renders_the_deployment_with_its_migrations_when_kubectl_is_here() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed: the listed files were checked instead")
    kinds = [d["kind"] for d in rendered_kustomization()]
    assert "Deployment" in kinds


def test_compose_bridge_has_an_admin_token_for_its_status_page() -> None:
    services = load(COMPOSE)["services"]
    token = services["bridge"]["environment"].get("BRIDGE_ADMIN_TOKEN")
    assert token
    assert "BRIDGE_ADMIN_TOKEN" not in services["bridge-init"]["environment"]


async def test_compose_status_page_answers_with_the_compose_token(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    bridge = load(COMPOSE)["services"]["bridge"]
    host_dir = DEPLOY / mounts(bridge)["/etc/orders-bridge"]
    environment = bridge["environment"]
    apps = read_apps_file(host_dir / Path(environment["BRIDGE_CONFIG_FILE"]).name)
    settings = make_settings(
        apps=apps,
        admin_token=environment["BRIDGE_ADMIN_TOKEN"],
        policy_file=host_dir / Path(environment["BRIDGE_POLICY_FILE"]).name,
    )
    client = await aiohttp_client(create_app(settings))
    token = environment["BRIDGE_ADMIN_TOKEN"]
    headers = basic_auth("operator", token)
    async with client.get("/_bridge/", headers=headers) as answer:
        assert answer.status == 200
        assert "text/html" in answer.headers["Content-Type"]
