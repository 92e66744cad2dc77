"""/metrics of a gunicorn web process with several workers: one aggregated, valid exposition."""
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.integration


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

    with ThreadPoolExecutor(12) as pool:
        assert set(pool.map(hit, range(300))) == {404}
    (metrics_dir,) = tmp_path.glob("metrics-sample-*")
    writers = {path.name for path in metrics_dir.glob("counter_*.db")}
    assert len(writers) >= 2, f"expected several workers to have counted, got {writers}"

    text = requests.get(f"{base}/metrics").text
    line = next(l for l in text.splitlines()
                if l.startswith('envgrid_http_requests_total{method="GET",route="unmatched",status="404"}'))
    assert float(line.rsplit(" ", 1)[1]) == 300  # every worker's share, summed
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
