"""The deployed Prometheus and Grafana files are valid: promtool accepts the scrape config and
the alert rules, the rules' unit tests pass (alerts_test.yml: each alert fires exactly when its
condition holds, and not before), and the dashboard and provisioning files agree with each
other (every panel reads the provisioned datasource; the four rows exist)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed (scripts/test.sh installs prometheus)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)


def test_alert_rules_pass_promtool_check() -> None:
    out = promtool("check", "rules", str(PROM / "alerts.yml"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 6 rules found" in out.stdout


def test_scrape_config_passes_promtool_check() -> None:
    out = promtool("check", "config", str(PROM / "prometheus.yml"))
    assert out.returncode == 0, out.stdout + out.stderr
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["trader:9108"]
    assert config["rule_files"] == ["alerts.yml"]


def test_alert_rules_unit_tests_pass() -> None:
    out = promtool("test", "rules", str(Path(__file__).with_name("alerts_test.yml")))
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_rule_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The unit tests fail when an alert fires on the wrong breaker state."""
    (tmp_path / "deploy" / "prometheus").mkdir(parents=True)
    (tmp_path / "tests" / "monitoring").mkdir(parents=True)
    rules = (PROM / "alerts.yml").read_text()
    assert rules.count("(gradtrade_breaker_state) == 2") == 1
    broken = rules.replace("(gradtrade_breaker_state) == 2", "(gradtrade_breaker_state) >= 1")
    (tmp_path / "deploy" / "prometheus" / "alerts.yml").write_text(broken)
    test_file = tmp_path / "tests" / "monitoring" / "alerts_test.yml"
    test_file.write_text(Path(__file__).with_name("alerts_test.yml").read_text())
    out = promtool("test", "rules", str(test_file))
    assert out.returncode != 0 and "GradtradeHalted" in out.stdout + out.stderr


def test_dashboard_rows_panels_and_datasource_match_the_provisioning() -> None:
    dash = json.loads((GRAFANA / "dashboards" / "gradtrade.json").read_text())
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert rows == ["Health", "Execution", "Risk and PnL", "Model"]
    (ds,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert len(panels) >= 25 and len({p["id"] for p in dash["panels"]}) == len(dash["panels"])
    for p in panels:
        assert p["datasource"]["uid"] == ds["uid"], p["title"]
        assert p["targets"] and all(t["datasource"]["uid"] == ds["uid"] for t in p["targets"])
    (provider,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "gradtrade.yml").read_text()
    )["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
