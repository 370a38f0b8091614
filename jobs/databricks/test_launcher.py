"""Unit tests of the launcher. The child process is a fake ``node`` (a small Python script put on PATH) whose
behaviour the tests choose through environment variables; everything else is the real launcher."""

import io
import json
import os
import shutil
import stat
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import launcher  # noqa: E402

FAKE_NODE = textwrap.dedent(
    """\
    #!%s
    import json, os, sys
    with open(os.environ["FAKE_NODE_ARGV_FILE"], "w") as f:
        json.dump(sys.argv[1:], f)
    sys.stderr.write("log line 1\\nlog line 2\\n")
    sys.stderr.flush()
    sys.stdout.write(os.environ.get("FAKE_NODE_STDOUT", ""))
    sys.stdout.flush()
    sys.exit(int(os.environ.get("FAKE_NODE_EXIT", "0")))
    """
)


class FakeTaskValues:
    def __init__(self):
        self.values = {}

    def set(self, key, value):
        self.values[key] = value


class FakeDbutils:
    """The part of Databricks' dbutils the launcher uses: dbutils.jobs.taskValues.set(key, value)."""

    def __init__(self):
        self.jobs = type("Jobs", (), {})()
        self.jobs.taskValues = FakeTaskValues()


class LauncherTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="launcher-test-")
        bin_dir = os.path.join(self.dir, "bin")
        os.mkdir(bin_dir)
        node = os.path.join(bin_dir, "node")
        with open(node, "w") as f:
            f.write(FAKE_NODE % sys.executable)
        os.chmod(node, os.stat(node).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.argv_file = os.path.join(self.dir, "argv.json")
        self.values_file = os.path.join(self.dir, "values.json")
        self.env = {
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "MLOPS_APP_DIR": os.path.join(self.dir, "app"),
            "MLOPS_TASK_VALUES_FILE": self.values_file,
            "FAKE_NODE_ARGV_FILE": self.argv_file,
        }

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def launch(self, argv, stdout_text="", exit_code=0, dbutils=None, **env):
        self.env["FAKE_NODE_STDOUT"] = stdout_text
        self.env["FAKE_NODE_EXIT"] = str(exit_code)
        self.env.update(env)
        out, err = io.StringIO(), io.StringIO()
        code = launcher.run(argv, env=self.env, dbutils=dbutils, stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def node_argv(self):
        with open(self.argv_file) as f:
            return json.load(f)

    def task_values_file(self):
        with open(self.values_file) as f:
            return json.load(f)

    def test_success_runs_the_cli_with_json_and_writes_task_values_locally(self):
        result = {"status": "drift", "should_retrain": True, "drift_count": 2, "drift_features": ["gdp", "year"]}
        code, out, err = self.launch(["monitor", "--registry", "/r"], json.dumps(result) + "\n")
        self.assertEqual(code, 0)
        self.assertEqual(
            self.node_argv(),
            [os.path.join(self.env["MLOPS_APP_DIR"], "dist", "jobs", "cli.js"), "monitor", "--registry", "/r", "--json"],
        )
        self.assertIn("log line 1\nlog line 2\n", err)
        self.assertIn('"should_retrain": true', out)
        self.assertEqual(
            self.task_values_file(),
            {"should_retrain": "true", "drift_count": 2, "drift_features": ["gdp", "year"]},
        )

    def test_json_flag_is_not_duplicated(self):
        self.launch(["score", "--json"], "{}\n")
        self.assertEqual(self.node_argv()[1:], ["score", "--json"])

    def test_publishes_through_dbutils_when_available(self):
        dbutils = FakeDbutils()
        code, _, _ = self.launch(["retrain", "--force"], json.dumps({"retrained": True, "candidate_version": 7}), dbutils=dbutils)
        self.assertEqual(code, 0)
        self.assertEqual(dbutils.jobs.taskValues.values, {"candidate_version": 7})
        self.assertFalse(os.path.exists(self.values_file))

    def test_nested_decision_and_false_as_string(self):
        dbutils = FakeDbutils()
        result = {"status": "ok", "decision": {"should_retrain": False, "drift_count": 0, "drift_features": []}}
        self.launch(["monitor"], json.dumps(result), dbutils=dbutils)
        self.assertEqual(dbutils.jobs.taskValues.values, {"should_retrain": "false", "drift_count": 0, "drift_features": []})

    def test_failure_exit_codes_are_passed_through_and_values_still_published(self):
        code, _, _ = self.launch(["score"], json.dumps({"rejects": 90, "should_retrain": False}), exit_code=3)
        self.assertEqual(code, 3)
        self.assertEqual(self.task_values_file(), {"should_retrain": "false"})
        code, _, err = self.launch(["promote"], json.dumps({"ok": False, "error": "bad flag"}), exit_code=2)
        self.assertEqual(code, 2)
        code, _, _ = self.launch(["train"], "", exit_code=1)
        self.assertEqual(code, 1)

    def test_non_json_output(self):
        code, _, err = self.launch(["monitor"], "hello, not json\n", exit_code=0)
        self.assertEqual(code, 1)
        self.assertIn("printed no JSON object", err)
        self.assertFalse(os.path.exists(self.values_file))
        code, _, _ = self.launch(["monitor"], "garbage", exit_code=2)
        self.assertEqual(code, 2)

    def test_json_after_stray_lines(self):
        code, _, _ = self.launch(["retrain"], 'warning: something\n{"candidate_version": 3}\n')
        self.assertEqual(code, 0)
        self.assertEqual(self.task_values_file(), {"candidate_version": 3})

    def test_prints_values_without_file_or_dbutils(self):
        del self.env["MLOPS_TASK_VALUES_FILE"]
        code, out, _ = self.launch(["retrain"], '{"candidate_version": 5}')
        self.assertEqual(code, 0)
        self.assertIn('task values: {"candidate_version": 5}', out)

    def test_missing_node(self):
        code, _, err = self.launch(["monitor"], "{}", MLOPS_NODE=os.path.join(self.dir, "no-such-node"))
        self.assertEqual(code, 127)
        self.assertIn("cannot start", err)

    def test_publication_failure_fails_the_task(self):
        class Broken:
            class jobs:  # noqa: N801 - mirrors dbutils.jobs
                class taskValues:  # noqa: N801
                    @staticmethod
                    def set(key, value):
                        raise RuntimeError("no task context")

        code, _, err = self.launch(["monitor"], '{"should_retrain": true}', dbutils=Broken())
        self.assertEqual(code, 1)
        self.assertIn("cannot publish task values", err)

    def test_no_arguments(self):
        self.assertEqual(launcher.run([], env=self.env, stdout=io.StringIO(), stderr=io.StringIO()), 2)

    def test_task_values_ignores_wrong_types(self):
        self.assertEqual(launcher.task_values({"drift_count": True, "candidate_version": "7", "should_retrain": "TRUE"}), {"should_retrain": "true"})


if __name__ == "__main__":
    unittest.main()
