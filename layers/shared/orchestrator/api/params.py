"""Parameters and response headers several routers declare, so each is described (and validated) alike."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import StringConstraints

# Ids are visible ASCII: no NUL (PostgreSQL text cannot hold it), no spaces, nothing to decode.
ID_TEXT = r"^[\x21-\x7e]+$"
# An id in a query string.
IdText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_TEXT)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=ID_TEXT,
    description="Retries with the same key (per caller, within 24 h) get the first response back, marked "
                "Idempotent-Replayed: true; the same key with another body is refused (422)")]
IfMatch = Annotated[str | None, Header(
    alias="If-Match", max_length=1000,
    description="The ETag read from GET /deployments/{id}: the action applies only to that version (else 412)")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=1000,
                                           description="An ETag from an earlier read: 304 if unchanged")]
REPLAY = {"Idempotent-Replayed": {"description": "true when this is the stored answer to an earlier request with "
                                                 "the same Idempotency-Key", "schema": {"type": "string"}}}
ETAG = {"ETag": {"description": "The representation's version, for If-None-Match and If-Match",
                 "schema": {"type": "string"}}}
