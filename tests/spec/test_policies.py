"""Cluster policy rules applied to cluster specs as Databricks applies them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.spec.policies import PolicyError, apply, hidden, parse

POLICY = parse("""{
  "spark_version": {"type": "fixed", "value": "16.4.x-scala2.12", "hidden": true},
  "num_workers": {"type": "range", "minValue": 1, "maxValue": 4, "defaultValue": 2},
  "node_type_id": {"type": "allowlist", "values": ["i3.xlarge", "local-2c-23g"],
                   "defaultValue": "i3.xlarge"},
  "spark_conf.spark.sql.shuffle.partitions": {"type": "unlimited", "defaultValue": "8"},
  "spark_conf.spark.databricks.io.cache.enabled": {"type": "forbidden"},
  "custom_tags.team": {"type": "regex", "pattern": "[a-z]+"},
  "autotermination_minutes": {"type": "range", "maxValue": 120, "isOptional": true},
  "instance_pool_id": {"type": "blocklist", "values": ["expensive"], "isOptional": true},
  "cluster_type": {"type": "fixed", "value": "job"},
  "dbus_per_hour": {"type": "range", "maxValue": 10}
}""")


def test_a_spec_within_the_policy_gets_its_fixed_and_default_values() -> None:
    spec, problems = apply(POLICY, {"custom_tags": {"team": "sales"}}, "job",
                           fill_defaults=True)
    assert problems == []
    assert spec == {"spark_version": "16.4.x-scala2.12", "num_workers": 2,
                    "node_type_id": "i3.xlarge", "custom_tags": {"team": "sales"},
                    "spark_conf": {"spark.sql.shuffle.partitions": "8"}}
    assert hidden(POLICY) == {"spark_version"}


def test_without_default_values_only_fixed_ones_are_set() -> None:
    spec, problems = apply(POLICY, {"custom_tags": {"team": "ops"}, "num_workers": 3,
                                    "node_type_id": "local-2c-23g"}, "job")
    assert problems == [] and spec["spark_version"] == "16.4.x-scala2.12"
    assert "spark_conf" not in spec


@pytest.mark.parametrize(("change", "attribute", "says"), [
    ({"num_workers": 9}, "num_workers", "at most 4 (is 9)"),
    ({"num_workers": 0}, "num_workers", "at least 1 (is 0)"),
    ({"num_workers": "many"}, "num_workers", "must be a number"),
    ({"node_type_id": "p4d.24xlarge"}, "node_type_id", "must be one of"),
    ({"spark_version": "13.3.x-scala2.12"}, "spark_version", "must be '16.4.x-scala2.12'"),
    ({"spark_conf": {"spark.databricks.io.cache.enabled": "true"}},
     "spark_conf.spark.databricks.io.cache.enabled", "must not be set"),
    ({"custom_tags": {"team": "Sales-1"}}, "custom_tags.team", "must match '[a-z]+'"),
    ({"custom_tags": {}}, "custom_tags.team", "must be present"),
    ({"instance_pool_id": "expensive"}, "instance_pool_id", "must not be one of"),
    ({"autotermination_minutes": 600}, "autotermination_minutes", "at most 120"),
])
def test_each_rule_names_the_attribute_it_breaks(change: dict, attribute: str,
                                                says: str) -> None:
    spec = {"custom_tags": {"team": "ok"}, "num_workers": 2, "node_type_id": "i3.xlarge",
            **change}
    _, problems = apply(POLICY, spec, "job")
    assert [p.attribute for p in problems] == [attribute]
    assert says in str(problems[0]) and str(problems[0]).startswith(
        f"Validation failed for {attribute} (")


def test_cluster_type_keeps_a_job_policy_off_all_purpose_clusters() -> None:
    _, problems = apply(POLICY, {"custom_tags": {"team": "a"}}, "all-purpose", True)
    assert [str(p) for p in problems] == [
        "Validation failed for cluster_type (fixed rule): this policy is for job clusters, "
        "not all-purpose clusters"]


@pytest.mark.parametrize(("definition", "says"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"num_workers": {"type": "between"}}', "needs a type"),
    ('{"node_type_id": {"type": "allowlist"}}', "needs `values`"),
    ('{"cluster_name": {"type": "regex", "pattern": "("}}', "regex of 'cluster_name'"),
])
def test_bad_definitions_say_what_is_wrong(definition: str, says: str) -> None:
    with pytest.raises(PolicyError, match=says.replace("(", r"\(")):
        parse(definition)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["num_workers", "node_type_id", "spark_version",
                                        "autotermination_minutes", "instance_pool_id"]),
                       st.one_of(st.integers(-5, 500), st.text(max_size=8), st.none())))
def test_any_spec_is_applied_or_gets_violations_never_an_exception(spec: dict) -> None:
    out, problems = apply(POLICY, spec, "job", fill_defaults=True)
    assert isinstance(out, dict)
    assert all(str(p).startswith("Validation failed for ") for p in problems)
