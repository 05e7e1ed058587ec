"""Import hygiene: the workflow module loads nothing that cannot enter the sandbox."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import ga4_button_workflows.workflow

FORBIDDEN_PREFIXES = (
    "google.analytics",
    "google.api_core",
    "google.auth",
    "sqlalchemy",
    "psycopg",
    "httpx",
    "requests",
    "aiohttp",
    "smtplib",
    "flask",
)


def test_importing_the_workflow_module_loads_no_ga4_sql_or_http_client() -> None:
    code = (
        "import json, sys\n"
        "import ga4_button_workflows.workflow\n"
        "import ga4_button_workflows\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = json.loads(output)
    offending = [name for name in loaded if name.startswith(FORBIDDEN_PREFIXES)]
    assert offending == []


def test_workflow_code_never_reads_the_wall_clock() -> None:
    source = Path(ga4_button_workflows.workflow.__file__).read_text(encoding="utf-8")
    calls = {
        ast.unparse(node.func)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
    }
    wall_clock = {
        call
        for call in calls
        if call.endswith((".now", ".utcnow", ".today", "time.time", ".monotonic"))
        and call != "workflow.now"
    }
    assert wall_clock == set()
