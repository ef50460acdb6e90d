"""The server's docs stay true: docs/server/openapi.json is current and every API path is described."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

DOCS = REPO / "docs" / "server"
REGENERATE = ".venv/bin/icecash server openapi -o docs/server/openapi.json"


def test_server_openapi_json_is_current():
    generated = subprocess.run([sys.executable, "-m", "icecash.cli", "server", "openapi"], capture_output=True,
                               text=True, encoding="utf-8", cwd=REPO, timeout=120, check=True).stdout
    stored = (DOCS / "openapi.json").read_text(encoding="utf-8")
    assert json.loads(stored) == json.loads(generated), f"docs/server/openapi.json is stale: run `{REGENERATE}`"


def test_every_server_path_is_documented():
    document = json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))
    text = (DOCS / "exchange-api.md").read_text(encoding="utf-8") + (DOCS / "backoffice-api.md").read_text(encoding="utf-8")
    missing = [f"{method.upper()} {path}" for path, operations in document["paths"].items() for method in operations
               if f"`{path.replace('{z_uuid}', '{uuid}').replace('{receipt_uuid}', '{uuid}').replace('{promotion_id}', '{id}')}`"
               not in text and f"`{path}" not in text]
    assert not missing, f"docs/server/*-api.md do not describe: {missing}"
