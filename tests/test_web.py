"""What the HTTP services share: routes put straight into the app, and security documented without per-request cost."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPBearer
from fastapi.testclient import TestClient

from icecash.web import bearer_token, documented_by, include_routes, install_security_docs

_bearer = HTTPBearer(auto_error=False, description="a token")


@documented_by(_bearer)
async def caller(request: Request) -> str:
    return bearer_token(request) or "anonymous"


def make_app() -> FastAPI:
    app = FastAPI()
    install_security_docs(app)
    router = APIRouter(prefix="/api", tags=["things"])

    @router.get("/things/mine")
    def mine(who: Annotated[str, Depends(caller)]) -> dict[str, Any]:
        return {"who": who}

    @router.get("/things/{name}")
    def thing(name: str) -> dict[str, Any]:
        return {"name": name}

    include_routes(app, router)
    return app


def test_routes_keep_their_order_prefix_and_tags_and_the_scheme_is_documented():
    app = make_app()
    client = TestClient(app)
    assert client.get("/api/things/mine", headers={"Authorization": "Bearer t1"}).json() == {"who": "t1"}
    assert client.get("/api/things/x").json() == {"name": "x"}
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "description": "a token", "scheme": "bearer"}}
    assert schema["paths"]["/api/things/mine"]["get"]["security"] == [{"HTTPBearer": []}]
    assert schema["paths"]["/api/things/mine"]["get"]["tags"] == ["things"]
    assert "security" not in schema["paths"]["/api/things/{name}"]["get"]


def test_a_router_with_its_own_dependencies_is_refused():
    router = APIRouter(dependencies=[Depends(caller)])
    with pytest.raises(ValueError, match="include_router"):
        include_routes(FastAPI(), router)
