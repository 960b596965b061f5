"""The ingest function's cold start: what importing its handler loads, and how long it takes.

The ingest path must stay lean (ARCHITECTURE: no chDB, pandas or SQLAlchemy on it), so a fresh
interpreter imports the handler module exactly as Lambda's init phase does, then (under moto)
serves a first request, and the loaded top-level packages are checked after each. Times are
printed (``-s``) for the record. A last probe serves every ingest route and checks that the lean
ingest layer (``stacks/layer_requirements.py``) holds every distribution the handler loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

from stacks.layer_requirements import INGEST_ROOTS, PROVIDED_BY_LAMBDA, layer_requirements, requirement_names

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys, time
start = time.perf_counter()
import functions.ingest.handler
import_ms = (time.perf_counter() - start) * 1000
heavy = ("chdb", "sqlalchemy", "clickhouse_connect", "pandas", "psycopg", "alembic", "boto3")
print(json.dumps({"import_ms": import_ms, "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(heavy))}))
"""


def test_the_ingest_function_imports_no_database_driver():
    # When the ingest handler module is imported in a fresh interpreter (a cold start's init)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGLASS_")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    # Then no analytics or SQL driver was loaded, nor boto3 (created on first use, no I/O at import)
    assert probe["loaded"] == []
    print(f"\ningest handler import: {probe['import_ms']:.0f} ms")
    assert probe["import_ms"] < 5000


_FIRST_REQUEST = """
import base64, json, os, sys, time
from datetime import UTC, datetime
from moto import mock_aws

before = {m.split(".")[0] for m in sys.modules}
with mock_aws():
    import boto3
    boto3.client("s3").create_bucket(Bucket="skyglass-cold")
    queue_url = boto3.client("sqs").create_queue(QueueName="cold")["QueueUrl"]
    os.environ.update({
        "SKYGLASS_BLOB_URL": "s3://skyglass-cold", "SKYGLASS_KEYS_URL": "s3://skyglass-cold/keys",
        "SKYGLASS_QUEUE_URL": queue_url,
        # Aurora is configured but must never be touched (nothing answers at this ARN)
        "SKYGLASS_META_URL": "aurora-data-api://db?cluster_arn=arn:aws:rds:us-east-1:1:cluster:c"
        "&secret_arn=arn:aws:secretsmanager:us-east-1:1:secret:s",
    })
    from skyglass.adapters.blob.s3 import S3BlobStore
    from skyglass.adapters.keys.blob_projection import BlobKeyProjection
    from skyglass.domain.keys import hash_secret
    from skyglass.ports.meta import StoredApiKey

    key = StoredApiKey("k1", "p1", "pk-sg-cold", hash_secret("sk-sg-cold"), "", datetime.now(UTC))
    BlobKeyProjection(S3BlobStore("skyglass-cold", "keys")).put(key)
    import functions.ingest.handler as ingest

    class Context:
        function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "f", 512, "arn", "r"

    batch = {"batch": [{"id": "e1", "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z", "body": {"id": "t1"}}]}
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/public/ingestion", "rawQueryString": "",
        "headers": {"authorization": "Basic " + base64.b64encode(b"pk-sg-cold:sk-sg-cold").decode(),
                    "content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/api/public/ingestion", "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1"}, "stage": "$default"},
        "body": base64.b64encode(json.dumps(batch).encode()).decode(), "isBase64Encoded": True,
    }
    start = time.perf_counter()
    reply = ingest.handler(event, Context())
    first_ms = (time.perf_counter() - start) * 1000
heavy = {"chdb", "sqlalchemy", "clickhouse_connect", "pandas", "psycopg", "alembic"}
loaded = sorted(({m.split(".")[0] for m in sys.modules} - before) & heavy)
print(json.dumps({"status": reply["statusCode"], "first_ms": first_ms, "loaded": loaded}))
"""


def test_a_first_ingest_request_loads_no_database_driver_either():
    # When a fresh interpreter serves its first ingest request (S3 and SQS are moto)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGLASS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_REQUEST], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-3000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    # Then it was accepted (the key came from the S3 projection, Aurora was never asked) and
    # answering it loaded no analytics or SQL driver
    assert probe["status"] == 207
    assert probe["loaded"] == []
    print(f"\ningest first request (key lookup, PBKDF2, S3 put, SQS send): {probe['first_ms']:.0f} ms")


_EVERY_ROUTE = """
import base64, gzip, json, os, sys
from datetime import UTC, datetime
from pathlib import Path

# What the Lambda runtime provides (boto3 and whatever it loads for a client) is the baseline.
import boto3
boto3.client("s3", region_name="us-east-1")
baseline = set(sys.modules)

root = Path(sys.argv[1])
os.environ.update({
    "SKYGLASS_BLOB_URL": f"file://{root / 'blobs'}", "SKYGLASS_KEYS_URL": f"file://{root / 'keys'}",
    "SKYGLASS_QUEUE_URL": f"local://{root / 'queue.db'}",
    "SKYGLASS_META_URL": "aurora-data-api://db?cluster_arn=arn:aws:rds:us-east-1:1:cluster:c"
    "&secret_arn=arn:aws:secretsmanager:us-east-1:1:secret:s",
})
from skyglass.adapters.blob.local import LocalBlobStore
from skyglass.adapters.keys.blob_projection import BlobKeyProjection
from skyglass.domain.keys import hash_secret
from skyglass.ports.meta import StoredApiKey

key = StoredApiKey("k1", "p1", "pk-sg-layer", hash_secret("sk-sg-layer"), "", datetime.now(UTC))
BlobKeyProjection(LocalBlobStore(str(root / "keys"))).put(key)
import functions.ingest.handler as ingest

class Context:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "f", 512, "arn", "r"

def post(path, body, content_type, encoding=None):
    headers = {"authorization": "Basic " + base64.b64encode(b"pk-sg-layer:sk-sg-layer").decode(),
               "content-type": content_type}
    if encoding:
        headers["content-encoding"] = encoding
    event = {
        "version": "2.0", "routeKey": f"POST {path}", "rawPath": path, "rawQueryString": "", "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1"}, "stage": "$default"},
        "body": base64.b64encode(body).decode(), "isBase64Encoded": True,
    }
    return ingest.handler(event, Context())["statusCode"]

batch = {"batch": [{"id": "e1", "type": "trace-create", "timestamp": "2026-01-01T00:00:00Z", "body": {"id": "t1"}}]}
score = {"id": "s1", "traceId": "t1", "name": "quality", "value": 1}
events = Path(sys.argv[2])
statuses = [
    post("/api/public/ingestion", json.dumps(batch).encode(), "application/json"),
    post("/api/public/scores", json.dumps(score).encode(), "application/json"),
    post("/api/public/otel/v1/traces", gzip.compress((events / "langfuse_sdk_v5.pb").read_bytes()),
         "application/x-protobuf", "gzip"),
    post("/api/public/otel/v1/traces", (events / "langfuse_sdk_v5.json").read_bytes(), "application/json"),
]
loaded = [sys.modules[name] for name in set(sys.modules) - baseline]
files = sorted({m.__file__ for m in loaded if getattr(m, "__file__", None)})
print(json.dumps({"statuses": statuses, "files": files}))
"""


def _owners(files: list[str]) -> set[str]:
    """The installed distributions the given module files belong to (the repository's own excluded)."""
    wanted = {os.path.realpath(f) for f in files}
    owners: set[str] = set()
    for dist in distributions():
        for entry in dist.files or []:
            if os.path.realpath(str(dist.locate_file(entry))) in wanted:
                owners.add(canonicalize_name(dist.metadata["Name"]))
                break
    return owners - {"skyglass"}


def test_the_ingest_layer_holds_everything_the_ingest_handler_loads(tmp_path: Path):
    # When a fresh interpreter that has loaded boto3 (the Lambda runtime ships it) serves every
    # ingest route (batch, scores, OTLP protobuf and JSON)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGLASS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", _EVERY_ROUTE, str(tmp_path), str(REPO / "tests" / "events" / "otel")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["statuses"] == [207, 200, 200, 200]
    # Then every third-party distribution it loaded on top is in the lean ingest layer
    loaded = _owners(probe["files"])
    layer = requirement_names(layer_requirements("ingest"))
    assert loaded - PROVIDED_BY_LAMBDA <= layer, sorted(loaded - PROVIDED_BY_LAMBDA - layer)
    # And the layer's roots are all really used (nothing declared that the handler does not load)
    assert {canonicalize_name(name) for name in INGEST_ROOTS} <= loaded
