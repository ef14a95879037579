"""Emits a small two-job pipeline with the official OpenLineage Python client
to a running mlgraph, then checks mlgraph's Marquez-compatible lineage API.

Usage: python pipeline.py URL TOKEN
The client posts to URL/api/v1/lineage with `Authorization: Bearer TOKEN`
and gzip bodies, as it would to Marquez.
"""
import json
import sys
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.http import HttpConfig, HttpTransport

url, token = sys.argv[1], sys.argv[2]
config = HttpConfig.from_dict(
    {"type": "http", "url": url, "auth": {"type": "api_key", "apiKey": token}, "compression": "gzip"}
)
client = OpenLineageClient(transport=HttpTransport(config))
NS = "postgres://warehouse:5432"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/main/client/python"


def schema(*cols):
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=c, type="VARCHAR") for c in cols]
    )


def lineage(mapping, source):
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            out: column_lineage_dataset.Fields(
                inputFields=[column_lineage_dataset.InputField(namespace=NS, name=source, field=src)],
                transformationDescription="",
                transformationType="IDENTITY",
            )
            for out, src in mapping.items()
        }
    )


def run(job, inputs, outputs):
    run_id = str(uuid.uuid4())
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=datetime.now(timezone.utc).isoformat(),
                run=Run(runId=run_id),
                job=Job(namespace="pipeline", name=job),
                producer=PRODUCER,
                inputs=inputs,
                outputs=outputs,
            )
        )


raw = InputDataset(namespace=NS, name="shop.orders_raw", facets={"schema": schema("id", "total", "customer")})
run(
    "clean_orders",
    [raw],
    [
        OutputDataset(
            namespace=NS,
            name="shop.orders_clean",
            facets={
                "schema": schema("order_id", "amount"),
                "columnLineage": lineage({"order_id": "id", "amount": "total"}, "shop.orders_raw"),
            },
        )
    ],
)
run(
    "daily_revenue",
    [InputDataset(namespace=NS, name="shop.orders_clean")],
    [
        OutputDataset(
            namespace=NS,
            name="shop.revenue_daily",
            facets={
                "schema": schema("revenue"),
                "columnLineage": lineage({"revenue": "amount"}, "shop.orders_clean"),
            },
        )
    ],
)


def get(path, **query):
    q = urllib.parse.urlencode(query)
    with urllib.request.urlopen(f"{url}{path}?{q}") as r:
        return json.load(r)


graph = get("/api/v1/lineage", nodeId="job:pipeline:daily_revenue", depth=5)["graph"]
ids = {n["id"] for n in graph}
expected = {
    "job:pipeline:clean_orders",
    "job:pipeline:daily_revenue",
    f"dataset:{NS}:shop.orders_raw",
    f"dataset:{NS}:shop.orders_clean",
    f"dataset:{NS}:shop.revenue_daily",
}
assert expected <= ids, f"lineage graph: {sorted(ids)}"
jobs = {n["id"]: n for n in graph if n["type"] == "JOB"}
assert jobs["job:pipeline:clean_orders"]["data"]["latestRun"]["state"] == "COMPLETED", jobs
runs = get("/api/v1/namespaces/pipeline/jobs/clean_orders/runs")
assert runs["totalCount"] == 1, runs
run = runs["runs"][0]
assert run["state"] == "COMPLETED" and run["durationMs"] >= 0, run
assert get(f"/api/v1/jobs/runs/{run['id']}")["id"] == run["id"]

fields = get(
    "/api/v1/column-lineage",
    nodeId=f"datasetField:{NS}:shop.revenue_daily:revenue",
    depth=5,
)["graph"]
by_field = {(n["data"]["dataset"], n["data"]["field"]): n for n in fields}
revenue = by_field[("shop.revenue_daily", "revenue")]
assert [i["field"] for i in revenue["data"]["inputFields"]] == ["amount"], revenue
amount = by_field[("shop.orders_clean", "amount")]
assert [i["field"] for i in amount["data"]["inputFields"]] == ["total"], amount
print("openlineage-python pipeline: lineage and column lineage as expected")
