"""The review web app (FastAPI): a JSON API over the review queue and one offline page.

Every `/api/*` call needs `Authorization: Bearer TOKEN`; the page itself holds no data and asks
for the token once (or takes it from the `#token=` fragment of its address, which browsers never
send to the server). Post texts are untrusted: the page only ever inserts them as text, and a
strict Content-Security-Policy (no inline script, same-origin only) backs that up.

Before any request body is read, a guard in front of the app refuses an `/api/*` call without the
token (401) and a body over `max_body` bytes (413, by its Content-Length, or once that many bytes
have arrived): an anonymous client cannot make the server hold a large upload in memory."""
from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any, Optional

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from detector.review import ops, privacy
from detector.review.db import DecisionConflict, ItemNotFound, ReviewDB

STATIC = Path(__file__).resolve().parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
JS = "text/javascript; charset=utf-8"
PAGE_FILES = {"common.js": JS, "item.js": JS, "app.js": JS, "app.css": "text/css; charset=utf-8"}  # all the page loads; scripts in this order
MAX_BODY = 1 << 20  # bytes a request body may have (1 MiB): a decision is a few hundred


class DecisionIn(BaseModel):
    reviewer: str = Field(..., min_length=1, max_length=100)
    labels: Any = Field(..., description="{risk: 0 or 1} for every risk (checked by check_labels: integers only)")
    note: str = Field("", max_length=10_000)
    decision_id: Optional[str] = Field(None, min_length=1, max_length=128,
                                       description="idempotency key: a retry with the same id is not applied twice")
    expected_version: Optional[int] = Field(None, description="the item version the reviewer saw; a stale one gets 409")


class RevealIn(BaseModel):
    reviewer: str = Field(..., min_length=1, max_length=100)


class BodyGuard:
    """ASGI guard in front of the app: `/api/*` calls need the token, and no body may exceed
    `max_body` bytes. Both are decided before the app reads the body: a refused request's body is
    never read (by its Content-Length), or read only up to the limit (chunked)."""

    def __init__(self, app, token: bytes, max_body: int):
        self.app, self.token, self.max_body = app, token, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if scope.get("path", "").startswith("/api/") and not token_ok(headers.get("authorization"), self.token):
            return await _refuse(send, 401, "missing or wrong access token (Authorization: Bearer TOKEN)",
                                 {"www-authenticate": "Bearer"})
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_body:
            return await _refuse(send, 413, self._too_big())
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                return await _refuse(send, 413, self._too_big())
            if not message.get("more_body"):
                break
        return await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _too_big(self) -> str:
        return f"request body too large: at most {self.max_body} bytes (jingwang review serve --max-body)"


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(send, status: int, detail: str, extra: dict | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    headers = {"content-type": "application/json", "content-length": str(len(body)), **SECURITY_HEADERS, **(extra or {})}
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]})
    await send({"type": "http.response.body", "body": body})


def token_ok(authorization: Optional[str], expected: bytes) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), expected)


def _validation_message(exc: RequestValidationError) -> str:
    """One sentence per problem, naming the field: `labels.rumor: ...`, `reviewer: Field required`."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "header"))
        parts.append(f"{where or 'request'}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def create_app(db_path: str | Path, token: str, max_body: int = MAX_BODY):
    """The app for one review queue behind its guard. `token` is required on every API call;
    request bodies over `max_body` bytes are refused unread."""
    if not token or len(token) < 8:
        raise ValueError("the access token must have at least 8 characters")
    if not isinstance(max_body, int) or isinstance(max_body, bool) or max_body < 1:
        raise ValueError(f"max_body must be a positive number of bytes, not {max_body!r}")
    db = ReviewDB(db_path, create=False)
    expected = token.encode("utf-8")
    app = FastAPI(title="Jingwang review", docs_url=None, redoc_url=None, openapi_url=None)

    app.add_middleware(BodyGuard, token=expected, max_body=max_body)  # innermost: its refusals get the headers too

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError):
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    _add_pages(app)
    app.include_router(api_router(db))
    return app


def _static(name: str, media_type: str):
    return FileResponse(STATIC / name, media_type=media_type)


def _add_pages(app: FastAPI) -> None:
    """The page and the files it loads (PAGE_FILES, nothing else): no data in them, no token needed."""
    @app.get("/", include_in_schema=False)
    def page():
        return _static("index.html", "text/html; charset=utf-8")

    @app.get("/static/{name}", include_in_schema=False)
    def page_file(name: str):
        if name not in PAGE_FILES:
            raise HTTPException(status_code=404, detail="Not Found")
        return _static(name, PAGE_FILES[name])

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)



def api_router(db: ReviewDB) -> APIRouter:
    """The JSON API over one queue (the token was checked by BodyGuard before any of these)."""
    api = APIRouter(prefix="/api")

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
        return {"items": [privacy.masked_item(it) for it in page_items], "next_cursor": nxt}

    @api.post("/items/{item_id:path}/reveal")
    def reveal(item_id: str, body: RevealIn):
        """The item unmasked, after the reveal is written to the audit log."""
        try:
            item = privacy.reveal(db, item_id, body.reviewer)
        except ItemNotFound as e:
            raise HTTPException(404, str(e)) from None
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return {**item, "operations": ops.item_operations(db, item_id)}

    @api.get("/items/{item_id:path}")
    def item(item_id: str):
        try:
            it = db.get_item(item_id)
        except ItemNotFound as e:
            raise HTTPException(404, str(e)) from None
        return {**privacy.masked_item(it), "reveals": privacy.reveals(db, item_id),
                "operations": ops.item_operations(db, item_id)}

    @api.post("/items/{item_id:path}/decision")
    def decision(item_id: str, body: DecisionIn, idempotency_key: Optional[str] = Header(None, max_length=128)):
        try:
            res = db.decide(item_id, body.reviewer, body.labels, body.note,
                            decision_id=body.decision_id or idempotency_key,
                            expected_version=body.expected_version, source="api")
        except ItemNotFound as e:
            raise HTTPException(404, str(e)) from None
        except DecisionConflict as e:
            current = db.conflict_item(item_id)
            return JSONResponse({"detail": str(e), "conflict": e.kind,
                                 "item": privacy.masked_item(current) if current else None}, status_code=409)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return {**res, "item": privacy.masked_item(res["item"])}

    @api.get("/operations")
    def operations(limit: int = Query(100, ge=1, le=1000)):
        return {"operations": ops.list_operations(db, limit)}

    @api.get("/operations/{operation_id:path}")
    def operation(operation_id: str):
        found = ops.get_operation(db, operation_id)
        if found is None:
            raise HTTPException(404, f"no operation {operation_id!r} (import it with `jingwang review import-operations`)")
        return found

    @api.get("/stats")
    def stats():
        return db.stats()

    return api
