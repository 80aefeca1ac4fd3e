"""local/cost.py: the README's cost table is its output over the template."""

from __future__ import annotations

import copy
import re

from local import cost
from local.invoke import load_template
from local.lambda_runtime import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_table_is_computed_from_the_template() -> None:
    found = re.search(r"<!-- cost:begin -->\n(.*?)\n<!-- cost:end -->", README, re.S)
    assert found, "README.md has no cost table between its markers"
    assert found.group(1) == cost.table(), "run: .venv/bin/python -m local.cost"


def test_the_schedules_are_read_from_their_expressions() -> None:
    assert cost.period_minutes("rate(10 minutes)") == 10
    assert cost.period_minutes("rate(1 hour)") == 60
    assert cost.period_minutes("cron(0 6 * * ? *)") == 1440
    assert cost.period_minutes("cron(0 8 1 * ? *)") == 30 * 1440


def test_the_estimate_follows_the_template() -> None:
    template = load_template()
    small = cost.PORTALS[0]
    alarms = sum(1 for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    before = cost.estimate(template, small)
    assert before[f"CloudWatch alarms ({alarms})"] == alarms * cost.PRICES["alarm"]
    # the default deployment costs little, and compute is not what it costs
    assert sum(before.values()) < 10
    assert before["Lambda"] < before["CloudWatch custom metrics"]
    slower = copy.deepcopy(template)
    guard = slower["Resources"]["BulkChangeGuardFunction"]["Properties"]["Events"]
    (schedule,) = [e for e in guard.values() if e["Type"] == "ScheduleV2"]
    schedule["Properties"]["ScheduleExpression"] = "rate(1 day)"
    after = cost.estimate(slower, small)
    assert after["Lambda"] < before["Lambda"]
    assert after["CloudWatch custom metrics"] < before["CloudWatch custom metrics"]
