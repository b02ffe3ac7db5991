"""The script of the registration Job: upload the compiled pipeline to KFP's API (v2beta1).

Run with ``python3 -c`` in the component image, with the IR at ``$PIPELINE_FILE`` (gzip when
the name ends with ``.gz``), where each ``__MLPIPES_VALUE_<n>__`` stands for the value of the
environment variable ``MLPIPES_VALUE_<n>`` (what is known only at deploy time). Idempotent:
the pipeline is created when it is missing; a version named after the IR's hash is uploaded
unless it exists; with a schedule, the recurring run of this version is created and the
recurring runs of earlier versions of this pipeline are deleted. Only the standard library.
"""

from __future__ import annotations

#: The script, as the Job's container runs it (environment: KFP_API, PIPELINE_NAME,
#: PIPELINE_VERSION, PIPELINE_FILE, DESCRIPTION, SCHEDULE, SCHEDULE_INPUT, SERVICE_ACCOUNT,
#: MLPIPES_VALUE_<n>).
SCRIPT = r"""
import gzip, json, os, re, sys, time, urllib.error, urllib.parse, urllib.request, uuid
api = os.environ["KFP_API"].rstrip("/") + "/apis/v2beta1"
name, version = os.environ["PIPELINE_NAME"], os.environ["PIPELINE_VERSION"]
def call(method, path, body=None, headers=None, ok=(200,)):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(api + path, data=data, method=method,
                                     headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        if error.code in ok:
            return error.code, {}
        sys.exit(f"{method} {path}: HTTP {error.code}: {error.read()[:2000]!r}")
with open(os.environ["PIPELINE_FILE"], "rb") as stored:
    ir = stored.read()
if os.environ["PIPELINE_FILE"].endswith(".gz"):
    ir = gzip.decompress(ir)
ir = re.sub(rb"__(MLPIPES_VALUE_[0-9]+)__", lambda m: os.environ[m.group(1).decode()].encode(), ir)
def upload(path, query):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; "
            f"filename=\"pipeline.yaml\"\r\nContent-Type: application/x-yaml\r\n\r\n"
            ).encode() + ir + f"\r\n--{boundary}--\r\n".encode()
    return call("POST", path + "?" + urllib.parse.urlencode(query), body,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"}, ok=(200, 409))
for attempt in range(30):
    try:
        urllib.request.urlopen(api + "/healthz", timeout=10)
        break
    except Exception as error:
        print(f"waiting for the KFP API: {error}", flush=True)
        time.sleep(10)
status, found = call("GET", "/pipelines/names/" + urllib.parse.quote(name), ok=(200, 404))
if status == 404:
    upload("/pipelines/upload", {"name": name, "display_name": name,
                                 "description": os.environ["DESCRIPTION"]})
    status, found = call("GET", "/pipelines/names/" + urllib.parse.quote(name))
pipeline_id = found["pipeline_id"]
upload("/pipelines/upload_version", {"name": version, "display_name": version,
                                     "pipelineid": pipeline_id})
query = urllib.parse.urlencode({"filter": json.dumps({"predicates": [
    {"key": "name", "operation": "EQUALS", "string_value": version}]})})
_, versions = call("GET", f"/pipelines/{pipeline_id}/versions?{query}")
version_id = versions["pipeline_versions"][0]["pipeline_version_id"]
print(f"pipeline {name} ({pipeline_id}) version {version} ({version_id})", flush=True)
schedule_name = f"{name}-schedule-{version}"
_, runs = call("GET", "/recurringruns?page_size=200")
for run in runs.get("recurringRuns", runs.get("recurring_runs", [])) or []:
    own = run.get("display_name", "").startswith(f"{name}-schedule-")
    if own and run["display_name"] != schedule_name:
        call("DELETE", f"/recurringruns/{run['recurring_run_id']}", ok=(200, 404))
        print(f"deleted recurring run {run['display_name']}", flush=True)
    elif own:
        schedule_name = None
if os.environ.get("SCHEDULE") and schedule_name:
    call("POST", "/recurringruns", {
        "display_name": schedule_name,
        "pipeline_version_reference": {"pipeline_id": pipeline_id,
                                       "pipeline_version_id": version_id},
        "runtime_config": {"parameters": json.loads(os.environ["SCHEDULE_INPUT"])},
        "trigger": {"cron_schedule": {"cron": os.environ["SCHEDULE"]}},
        "mode": "ENABLE", "max_concurrency": "1", "no_catchup": True,
        "service_account": os.environ["SERVICE_ACCOUNT"]})
    print(f"recurring run {schedule_name}: {os.environ['SCHEDULE']}", flush=True)
"""
