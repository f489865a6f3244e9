"""Memory rules for pytest tests, checked by tidemark (docs/python.md, "pytest").

    pytest -p tidemark.pytest_plugin tests/

    @pytest.mark.limit_memory("200 MB")   # how far the heap may rise above where it stood when the
                                          # test began
    @pytest.mark.limit_leaks("1 MB")      # how much the test may leave live when it returns
    @pytest.mark.no_unbounded_growth      # no allocation site of the test's run grows without bound

    pytest -p tidemark.pytest_plugin --tidemark-baseline DIR [--tidemark-tolerance 10]
                                          # each test's peak against the one kept in DIR (written
                                          # there the first time)

A test with a rule runs again in a child process under ``tidemark run`` instead of in pytest's own
process, with its call between two phase markers named "pytest"; ``tidemark gate --phase pytest``
judges the rules, so that a test fails with the rule it broke, what was measured, and the stacks
that held the memory. Sizes are read as ``tidemark gate`` reads them ("200 MB" is 200 MiB).

The tidemark executable is $TIDEMARK_EXECUTABLE, else the one beside this package (a build tree or
an installed prefix), else ``tidemark`` on PATH.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

import tidemark

_PHASE = "pytest"
_MARKERS = {
    "limit_memory": "limit_memory(size): the most the heap may rise above where it stood when the test began",
    "limit_leaks": "limit_leaks(size): the most the test may leave live when it returns",
    "no_unbounded_growth": "no_unbounded_growth: no allocation site of the test grows without bound",
}


def pytest_addoption(parser):
    group = parser.getgroup("tidemark", "memory rules checked by tidemark")
    group.addoption("--tidemark-baseline", metavar="DIR",
                    help="compare each test's peak with the summary kept in DIR (written there when missing)")
    group.addoption("--tidemark-tolerance", metavar="PERCENT", type=float, default=10.0,
                    help="how far (percent) a test's peak may rise over its baseline (default 10)")
    group.addoption("--tidemark-child", action="store_true", help=argparse.SUPPRESS)


def pytest_configure(config):
    for name, text in _MARKERS.items():
        config.addinivalue_line("markers", text)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    # In the child, the test's call (not its fixtures) is the phase the rules judge.
    if item.config.getoption("--tidemark-child"):
        with tidemark.phase(_PHASE):
            yield
    else:
        yield


def _executable():
    given = os.environ.get("TIDEMARK_EXECUTABLE")
    if given:
        return given
    here = os.path.dirname(os.path.dirname(os.path.abspath(tidemark.__file__)))
    for candidate in (os.path.join(here, "..", "bin", "tidemark"),               # build/python
                      os.path.join(here, "..", "..", "..", "bin", "tidemark")):  # PREFIX/lib/tidemark/python
        if os.access(candidate, os.X_OK):
            return os.path.normpath(candidate)
    found = shutil.which("tidemark")
    if not found:
        raise pytest.UsageError("tidemark: cannot find the tidemark executable (set TIDEMARK_EXECUTABLE)")
    return found


def _size(marker):
    if len(marker.args) != 1 or not isinstance(marker.args[0], (str, int)):
        raise pytest.UsageError("@pytest.mark.%s takes one size, e.g. \"200 MB\"" % marker.name)
    return str(marker.args[0]).replace(" ", "")


def _rules(item):
    rules = []
    marker = item.get_closest_marker("limit_memory")
    if marker:
        rules += ["--max-peak", _size(marker)]
    marker = item.get_closest_marker("limit_leaks")
    if marker:
        rules += ["--max-leaked", _size(marker)]
    if item.get_closest_marker("no_unbounded_growth"):
        rules += ["--no-unbounded-growth"]
    return rules


def _baseline_file(config, nodeid):
    directory = config.getoption("--tidemark-baseline")
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid) + ".json")


def _stacks(summary, broken, test_file):
    """The stacks behind the broken rules: those at the heap's peak that pass through the test's
    file (what the test allocated; pytest's own are left out), largest first."""
    lines = []
    if any(rule["rule"] != "no-unbounded-growth" for rule in broken):
        for group in summary.get("top_at_peak", []):
            frames = group.get("frames", [])
            if not any(frame.get("file") == test_file for frame in frames):
                continue
            lines.append("  held at the peak: %s bytes, %s" % (format(group["peak_bytes"], ","), group.get("site", "?")))
            for frame in frames[1:6]:
                where = "%s:%s" % (frame["file"], frame["line"]) if frame.get("file") else frame.get("module", "")
                lines.append("      %s (%s)" % (frame["function"], where))
    if any(rule["rule"] == "no-unbounded-growth" for rule in broken):
        for site in summary.get("findings", {}).get("sites", []):
            if site.get("verdict") == "unbounded growth":
                lines.append("  grows without bound: %s" % site.get("site", "?"))
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    config = pyfuncitem.config
    if config.getoption("--tidemark-child"):
        return None
    rules = _rules(pyfuncitem)
    baseline = _baseline_file(config, pyfuncitem.nodeid)
    if not rules and not baseline:
        return None
    tool = _executable()
    with tempfile.TemporaryDirectory(prefix="tidemark-pytest-") as scratch:
        trace = os.path.join(scratch, "test.tmtrace")
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(tidemark.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), package_root) if p)
        child = [tool, "run", "-o", trace, "--", sys.executable, "-m", "pytest", "-p", "tidemark.pytest_plugin",
                 "--tidemark-child", "-q", "-p", "no:cacheprovider", "--rootdir", str(config.rootpath),
                 pyfuncitem.nodeid]
        ran = subprocess.run(child, cwd=str(config.rootpath), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if ran.returncode != 0:
            pytest.fail("the test failed in tidemark's child run:\n" + ran.stdout[-4000:], pytrace=False)
        # One analysis of the trace: the gate judges its JSON summary.
        summary_file = os.path.join(scratch, "summary.json")
        with open(summary_file, "w") as out:
            subprocess.run([tool, "summary", "--json", trace], stdout=out, check=True)
        with open(summary_file) as text:
            summary = json.load(text)
        if baseline and not os.path.exists(baseline):
            shutil.copyfile(summary_file, baseline)
        elif baseline:
            rules += ["--baseline", baseline, "--max-peak-increase", str(config.getoption("--tidemark-tolerance"))]
        if not rules:
            return True
        gate = subprocess.run([tool, "gate", summary_file, "--phase", _PHASE, "--json"] + rules,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if gate.returncode == 2:
            pytest.fail("tidemark gate: " + gate.stderr.strip(), pytrace=False)
        verdict = json.loads(gate.stdout)
        broken = [rule for rule in verdict["rules"] if not rule["passed"]]
        if broken:
            text = ["tidemark: %s" % rule["text"] for rule in broken] + _stacks(summary, broken, str(pyfuncitem.path))
            pytest.fail("\n".join(text), pytrace=False)
    return True
