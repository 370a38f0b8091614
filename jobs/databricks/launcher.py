#!/usr/bin/env python3
"""Databricks task entry for the mlops jobs image (standard library only).

    python3 launcher.py <command> [args ...]

runs ``node <app>/dist/jobs/cli.js <command> [args ...] --json``, streams node's stderr (its logs) live,
parses the one JSON object node prints on stdout, publishes selected fields as Databricks task values and exits
with node's exit code.

Environment:
  MLOPS_APP_DIR           app directory holding dist/ (default /app)
  MLOPS_NODE              node executable (default ``node`` on PATH)
  MLOPS_TASK_VALUES_FILE  where task values go when dbutils is unavailable (local runs, tests); without it
                          they are printed as one ``task values: {...}`` line

Task values (only those present in the result; nested ``decision`` objects are looked into as well):
  should_retrain    "true" | "false" (a string, for ``condition_task`` EQUAL_TO "true")
  drift_count       integer
  drift_features    list of feature names
  candidate_version integer (set by ``retrain``; ``promote --candidate`` reads it)

Exit codes: node's own (0 ok, 1 internal error, 2 usage/input error, 3 policy failure; 128+N when node was
killed by signal N); 127 when node cannot be started; 1 when node exited 0 but printed no JSON object or the task
values could not be published.
"""

import json
import os
import signal
import subprocess
import sys
import threading

DEFAULT_APP_DIR = "/app"
CLI_RELATIVE = os.path.join("dist", "jobs", "cli.js")
PUBLISHED_KEYS = ("should_retrain", "drift_count", "drift_features", "candidate_version")


def log(message, stream=None):
    stream = stream or sys.stderr
    stream.write("launcher: %s\n" % message)
    stream.flush()


def build_command(argv, env):
    """The node command line for ``argv`` (``[command, *args]``); ``--json`` is added once."""
    node = env.get("MLOPS_NODE") or "node"
    app_dir = env.get("MLOPS_APP_DIR") or DEFAULT_APP_DIR
    args = list(argv)
    if "--json" not in args:
        args.append("--json")
    return [node, os.path.join(app_dir, CLI_RELATIVE)] + args


def parse_result(stdout_text):
    """The JSON object node printed: the last stdout line that parses as a JSON object, else the whole text."""
    for line in reversed(stdout_text.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    try:
        value = json.loads(stdout_text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _lookup(result, key):
    if key in result:
        return result[key]
    nested = result.get("decision")
    if isinstance(nested, dict) and key in nested:
        return nested[key]
    return None


def task_values(result):
    """The task values to publish from a command result."""
    values = {}
    should = _lookup(result, "should_retrain")
    if isinstance(should, bool):
        values["should_retrain"] = "true" if should else "false"
    elif isinstance(should, str) and should.lower() in ("true", "false"):
        values["should_retrain"] = should.lower()
    count = _lookup(result, "drift_count")
    if isinstance(count, int) and not isinstance(count, bool):
        values["drift_count"] = count
    features = _lookup(result, "drift_features")
    if isinstance(features, list):
        values["drift_features"] = [str(f) for f in features]
    candidate = _lookup(result, "candidate_version")
    if isinstance(candidate, int) and not isinstance(candidate, bool):
        values["candidate_version"] = candidate
    return values


def find_dbutils(env, stderr=None):
    """Databricks' dbutils when running on a cluster, else None."""
    try:
        from IPython import get_ipython  # type: ignore

        shell = get_ipython()
        if shell is not None and "dbutils" in shell.user_ns:
            return shell.user_ns["dbutils"]
    except Exception:  # noqa: BLE001 - IPython absent or not interactive
        pass
    # Only on a Databricks cluster: elsewhere getOrCreate() would start a local Spark.
    if not env.get("DATABRICKS_RUNTIME_VERSION"):
        return None
    try:
        from pyspark.dbutils import DBUtils  # type: ignore
        from pyspark.sql import SparkSession  # type: ignore

        return DBUtils(SparkSession.builder.getOrCreate())
    except Exception as err:  # noqa: BLE001
        log("dbutils unavailable (%s); task values are written locally" % err, stderr)
        return None


def publish(values, dbutils, env, stdout=None, stderr=None):
    """Publishes through dbutils.jobs.taskValues, else to MLOPS_TASK_VALUES_FILE, else prints them."""
    if dbutils is not None:
        for key, value in values.items():
            dbutils.jobs.taskValues.set(key=key, value=value)
        log("published task values: %s" % (", ".join(sorted(values)) or "none"), stderr)
        return
    target = env.get("MLOPS_TASK_VALUES_FILE")
    if target:
        tmp = target + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(values, handle, sort_keys=True)
        os.replace(tmp, target)
        return
    stdout = stdout or sys.stdout
    stdout.write("task values: %s\n" % json.dumps(values, sort_keys=True))
    stdout.flush()


def _pump(source, sink):
    for line in iter(source.readline, b""):
        try:
            sink.write(line.decode("utf-8", errors="replace"))
            sink.flush()
        except ValueError:
            break
    source.close()


def run(argv, env=None, dbutils=None, stdout=None, stderr=None):
    """Runs one command; returns the exit code. ``dbutils`` is found automatically when not given."""
    env = dict(os.environ if env is None else env)
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if not argv:
        log("usage: launcher.py <command> [args ...]", stderr)
        return 2
    command = build_command(argv, env)
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as err:
        log("cannot start %s: %s" % (command[0], err), stderr)
        return 127

    # A cancelled Databricks run sends SIGTERM to the launcher: pass it on so node can stop cleanly.
    previous = None
    if threading.current_thread() is threading.main_thread():
        def forward(signum, _frame):
            child.send_signal(signum)

        previous = signal.signal(signal.SIGTERM, forward)

    pump = threading.Thread(target=_pump, args=(child.stderr, stderr), daemon=True)
    pump.start()
    try:
        with child.stdout:
            out = child.stdout.read()
        code = child.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    pump.join()
    text = out.decode("utf-8", errors="replace")
    if text:
        stdout.write(text if text.endswith("\n") else text + "\n")
        stdout.flush()
    if code < 0:
        code = 128 + (-code)

    result = parse_result(text)
    if result is None:
        log("%s printed no JSON object on stdout (exit code %d)" % (argv[0], code), stderr)
        return code if code != 0 else 1
    values = task_values(result)
    try:
        found = dbutils if dbutils is not None else find_dbutils(env, stderr)
        publish(values, found, env, stdout, stderr)
    except Exception as err:  # noqa: BLE001 - any failure to publish must fail the task
        log("cannot publish task values: %s" % err, stderr)
        return code if code != 0 else 1
    return code


def main():
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
