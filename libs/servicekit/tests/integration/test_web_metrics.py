"""/metrics of a gunicorn web process with several workers: one aggregated, valid exposition."""
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.integration


NOT_FOUND = {"method": "GET", "route": "unmatched", "status": "404"}


def per_worker_counts(metrics_dir, tmp_path):
    """The 404 count each gunicorn worker wrote, read one worker's file at a time."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        alone = tmp_path / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[path.stem] = registry.get_sample_value("envgrid_http_requests_total", NOT_FOUND) or 0
    return counts


def test_metrics_aggregate_every_worker_and_pass_promtool(sample_settings, processes, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is needed: install the Debian package `prometheus`", pytrace=False)
    env = {"DATABASE_URL": sample_settings.database_url, "AMQP_URL": sample_settings.amqp_url}
    web = processes.web("sample", env, workers=3, app="sampleservice.app:create_app()")
    base = f"http://127.0.0.1:{web.port}"

    def hit(_):
        # A fresh connection each time, so gunicorn spreads them over its workers.
        return requests.get(f"{base}/no/such/route", headers={"Connection": "close"}).status_code

    (metrics_dir,) = tmp_path.glob("metrics-sample-*")
    sent, served = 0, {}
    with ThreadPoolExecutor(12) as pool:
        # Which worker accepts a connection is the kernel's choice: send until several have
        # answered (almost always within the first batch), so the sum below spans workers.
        while sum(1 for n in served.values() if n) < 2 and sent < 3000:
            assert set(pool.map(hit, range(100))) == {404}
            sent += 100
            served = per_worker_counts(metrics_dir, tmp_path)
    assert sum(1 for n in served.values() if n) >= 2, f"one worker answered everything: {served}"

    text = requests.get(f"{base}/metrics").text
    line = next(l for l in text.splitlines()
                if l.startswith('envgrid_http_requests_total{method="GET",route="unmatched",status="404"}'))
    assert float(line.rsplit(" ", 1)[1]) == sent  # every worker's share, summed
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
