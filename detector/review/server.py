"""The review web app (FastAPI): a JSON API over the review queue and one offline page.

Every `/api/*` call needs `Authorization: Bearer TOKEN`; the page itself holds no data and asks
for the token once (or takes it from the `#token=` fragment of its address, which browsers never
send to the server). Post texts are untrusted: the page only ever inserts them as text, and a
strict Content-Security-Policy (no inline script, same-origin only) backs that up."""
from __future__ import annotations

import hmac
from pathlib import Path
from typing import Optional

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from detector.review.db import DecisionConflict, ItemNotFound, ReviewDB

STATIC = Path(__file__).resolve().parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


class DecisionIn(BaseModel):
    reviewer: str = Field(..., min_length=1, max_length=100)
    labels: dict[str, int | bool]
    note: str = Field("", max_length=10_000)
    decision_id: Optional[str] = Field(None, min_length=1, max_length=128,
                                       description="idempotency key: a retry with the same id is not applied twice")
    expected_version: Optional[int] = Field(None, description="the item version the reviewer saw; a stale one gets 409")


def create_app(db_path: str | Path, token: str) -> FastAPI:
    """The app for one review queue. `token` is required on every API call."""
    if not token or len(token) < 8:
        raise ValueError("the access token must have at least 8 characters")
    db = ReviewDB(db_path, create=False)
    expected = token.encode("utf-8")

    def require_token(authorization: Optional[str] = Header(None)) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8"), expected):
            raise HTTPException(401, "missing or wrong access token (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="Jingwang review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def static(name: str, media_type: str):
        return FileResponse(STATIC / name, media_type=media_type)

    @app.get("/", include_in_schema=False)
    def page():
        return static("index.html", "text/html; charset=utf-8")

    @app.get("/static/app.js", include_in_schema=False)
    def script():
        return static("app.js", "text/javascript; charset=utf-8")

    @app.get("/static/app.css", include_in_schema=False)
    def style():
        return static("app.css", "text/css; charset=utf-8")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])

    @api.get("/meta")
    def meta():
        return {"labels": db.labels, "db": db.path.name}

    @api.get("/items")
    def items(status: str = Query("pending", pattern="^(pending|reviewed|all)$"),
              risk: Optional[str] = None,
              min_score: Optional[float] = Query(None, ge=0, le=1),
              max_score: Optional[float] = Query(None, ge=0, le=1),
              campaign: Optional[str] = Query(None, max_length=200),
              limit: int = Query(50, ge=1, le=500),
              cursor: Optional[str] = Query(None, max_length=400)):
        try:
            page_items, nxt = db.list_items(status, risk or None, min_score, max_score, campaign or None, limit, cursor)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return {"items": page_items, "next_cursor": nxt}

    @api.get("/items/{item_id:path}")
    def item(item_id: str):
        try:
            return db.get_item(item_id)
        except ItemNotFound as e:
            raise HTTPException(404, str(e)) from None

    @api.post("/items/{item_id:path}/decision")
    def decision(item_id: str, body: DecisionIn, idempotency_key: Optional[str] = Header(None, max_length=128)):
        try:
            res = db.decide(item_id, body.reviewer, dict(body.labels), body.note,
                            decision_id=body.decision_id or idempotency_key,
                            expected_version=body.expected_version, source="api")
        except ItemNotFound as e:
            raise HTTPException(404, str(e)) from None
        except DecisionConflict as e:
            return JSONResponse({"detail": str(e), "conflict": e.kind,
                                 "item": db.conflict_item(item_id)}, status_code=409)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return res

    @api.get("/stats")
    def stats():
        return db.stats()

    app.include_router(api)
    return app
