#!/usr/bin/env bash
# Airflow's DatabricksRunNowOperator runs a deployed podium job to SUCCESS.
# `make airflow` runs this: a throwaway workspace, the quickstart bundle deployed, a
# token, `podium serve` on a free loopback port, then interop/airflow/run_job.py in the
# Airflow venv (interop/airflow/.venv) with a databricks_default connection to it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PODIUM=.venv/bin/podium
AIRFLOW_PY=interop/airflow/.venv/bin/python
work=$(mktemp -d)
export PODIUM_HOME="$work/home" AIRFLOW_HOME="$work/airflow"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
job_id=$($PODIUM deploy --bundle examples/quickstart | sed -n 's/^daily_sales -> //p')
token=$($PODIUM tokens create --comment airflow)
$PODIUM serve --port "$port" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
    sleep 0.2
done
export AIRFLOW_CONN_DATABRICKS_DEFAULT="{\"conn_type\": \"databricks\", \"host\": \"127.0.0.1\", \"port\": $port, \"schema\": \"http\", \"password\": \"$token\"}"
"$AIRFLOW_PY" interop/airflow/run_job.py "$job_id" run_date=2026-11-20
