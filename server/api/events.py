"""``POST /api/v1/events``: integrations report batches of sales events.

Thin: authenticate the key, parse, check limits, run :func:`ingest_batch`, queue
evaluation, answer per event. The JSON body is parsed here with ``parse_float=Decimal``
so amounts keep their decimal text.
"""

from __future__ import annotations

import json
import logging
import math
from decimal import Decimal
from typing import Any, NoReturn

from flask import Response, current_app, jsonify, request
from flask_appbuilder.api import BaseApi, expose

from server.api.rate_limit import take_slot
from server.ledger.intake import IntakeStatus, ingest_batch
from server.queues import REDIS_ERRORS, redis_connection
from server.security.api_keys import find_active_key
from server.tasks.events import request_evaluation

API_KEY_HEADER = "X-API-Key"

log = logging.getLogger(__name__)


def _error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


#: the rate limit counts batches in any window of this many seconds
RATE_WINDOW_SECONDS = 60


def _rate_limited(key_id: int) -> int | None:
    """Seconds to wait if this key sent its limit of batches in the last 60 seconds
    (a sliding window, shared by every process through Redis), else None.

    Fails open: with Redis down the batch is let through (and logged). The limit shares
    out capacity between integrations; refusing intake because the queue is down would
    turn a queue outage into lost sales, which is what durable intake is for.
    """
    limit = int(current_app.config.get("EVENTS_RATE_LIMIT_PER_MINUTE", 120))
    if limit <= 0:
        return None
    try:
        wait = take_slot(
            redis_connection(), f"partnerflow:rate:events:{key_id}", limit, RATE_WINDOW_SECONDS
        )
    except REDIS_ERRORS as error:
        log.warning("events rate limit not checked, Redis is unavailable: %s", error)
        return None
    return None if wait is None else min(RATE_WINDOW_SECONDS, max(1, math.ceil(wait)))


#: Events are flat objects. JSON nested deeper than this is refused before anything walks
#: it: the parser and the intake's payload walks recurse, and would end in a 500.
MAX_JSON_DEPTH = 64


def _no_constants(name: str) -> NoReturn:
    # Python's parser reads NaN and Infinity (not JSON) as floats: a float must never
    # reach an amount, and PostgreSQL's JSON refuses them (the whole batch would fail)
    raise ValueError(f"{name} is not a JSON value")


def _parse_body(raw: bytes) -> tuple[Any, str | None]:
    """The body as JSON (numbers with a fraction as ``Decimal``), or ``(None, reason)``.

    No JSON value becomes a ``float``. Refused as a whole, with the reason: bytes that
    are not JSON text (``NaN`` and ``Infinity`` included), integers longer
    than Python's conversion limit (4,300 digits), JSON nested deeper than
    :data:`MAX_JSON_DEPTH`, and strings holding an unpaired UTF-16 surrogate, escaped
    (``"\\ud800"``) or as raw bytes: not Unicode text, so no payload digest and no
    database can take it.
    """
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except RecursionError:
        return None, f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        return None, f"malformed JSON: {error}"
    problem = _unreadable(body)
    return (None, problem) if problem else (body, None)


def _unreadable(body: Any) -> str | None:
    """Why a parsed body cannot be read as events (nesting, surrogates), or None.

    Iterative, so a body at the parser's own depth limit cannot exhaust the stack here.
    """
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and not _is_unicode(value):
                return "malformed JSON: a string holds an unpaired UTF-16 surrogate"
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class EventsApi(BaseApi):
    """Batches of sales, refunds, leads, actions and impressions from integrations."""

    resource_name = "events"
    route_base = "/api/v1/events"
    openapi_spec_tag = "Events"
    csrf_exempt = True

    @expose("", methods=["POST"])
    def post(self) -> Response:
        """Report a batch of events.
        ---
        post:
          summary: Report a batch of events (sales, refunds, leads, actions, impressions)
          description: >-
            Each event uses the fields of the rules contract. Events are stored before
            they are queued for evaluation; the answer lists every event, in order, as
            accepted, duplicate (sent before with the same payload: nothing changes),
            conflict (the id was used before with a different payload: refused, with the
            reason), merged (a sale whose order_id another channel reported first:
            stored, never paid, the reason names the first report) or rejected (with the
            reason). One bad event never fails the batch, so there is no per-request 409
            or 422: those outcomes are per event, inside the 200. Idempotency key: (the
            key's source, event id). Every refusal of the whole request is JSON whose
            error field says why.
          parameters:
          - in: header
            name: X-API-Key
            required: true
            schema: {type: string}
            description: the integration's API key (created by an admin, scoped to a source)
          requestBody:
            required: true
            description: >-
              A JSON array of events, or an object with an events array. At most
              EVENTS_MAX_BATCH events (default 5,000) and 20 MB; JSON nested deeper than
              64 levels is refused. Amounts keep their decimal text.
            content:
              application/json:
                schema:
                  oneOf:
                  - type: array
                    items: &event
                      type: object
                      description: >-
                        One event, fields as in the rules contract. Required by type:
                        sale channel and amount; refund refers_to and amount; lead channel;
                        action channel and action; impressions count. Fields not listed
                        are kept in the stored payload. An event that breaks this schema
                        is answered rejected, with the reason; the batch goes on.
                      required: [id, type, occurred_at]
                      properties:
                        id:
                          type: string
                          minLength: 1
                          maxLength: 200
                          description: >-
                            unique per source; prefix it (pos-msk-1001). Not blank, no
                            leading or trailing spaces
                        type:
                          type: string
                          enum: [sale, refund, lead, action, impressions]
                        occurred_at:
                          type: string
                          format: date-time
                          description: >-
                            ISO 8601 with a UTC offset; at most EVENTS_MAX_FUTURE_HOURS
                            (default 24) hours after the batch arrives
                        partner: {type: string, description: partner code (attribution)}
                        qr_token: {type: string, description: QR token (attribution)}
                        promo_code: {type: string, description: promo code (attribution)}
                        referral: {type: string, description: referral code (attribution)}
                        channel: {type: string, enum: [online, offline]}
                        region:
                          type: string
                          description: defaults to the credited partner's region
                        amount:
                          description: >-
                            sale and refund; decimal text or JSON number, > 0, at most
                            999999999999.99, at most two decimals of value (10.500 is
                            10.50; 0.001 is refused)
                          oneOf:
                          - type: string
                            pattern: '^[0-9]{1,12}([.][0-9]{1,2})?$'
                          - type: number
                            minimum: 0
                            exclusiveMinimum: true
                            maximum: 999999999999.99
                        currency:
                          type: string
                          description: the program's currency (missing means the program's)
                        customer: {type: string, description: customer reference (sale)}
                        category: {type: string, description: product category}
                        refers_to: {type: string, description: id of the refunded sale}
                        action: {type: string, description: action name (action)}
                        count:
                          type: integer
                          minimum: 1
                          maximum: 1000000000000
                          description: impressions
                        order_id:
                          type: string
                          description: the shop's order number; merges reports of one sale
                  - type: object
                    required: [events]
                    properties:
                      source: {type: string, description: must equal the key's source}
                      events:
                        type: array
                        items: *event
          responses:
            200:
              description: one result per event, in order
              content:
                application/json:
                  schema:
                    type: object
                    required: [source, accepted, duplicate, conflict, merged, rejected, results]
                    properties:
                      source: {type: string}
                      accepted: {type: integer, minimum: 0}
                      duplicate: {type: integer, minimum: 0}
                      conflict: {type: integer, minimum: 0}
                      merged: {type: integer, minimum: 0}
                      rejected: {type: integer, minimum: 0}
                      results:
                        type: array
                        items:
                          type: object
                          required: [index, id, status]
                          properties:
                            index: {type: integer, minimum: 0}
                            id:
                              type: string
                              nullable: true
                              description: null when the event has no usable id
                            status:
                              type: string
                              enum: [accepted, duplicate, conflict, merged, rejected]
                            reason:
                              type: string
                              minLength: 1
                              description: >-
                                why (rejected, conflict), or the first report (merged)
                          # rejected, conflict and merged always say why
                          anyOf:
                          - properties:
                              status: {enum: [accepted, duplicate]}
                          - required: [reason]
            400:
              description: >-
                the body is not JSON (the parser's message), holds a string that is not
                Unicode (an unpaired surrogate), is nested too deeply, or is not a batch
              content: &refusal
                application/json:
                  schema:
                    type: object
                    required: [error]
                    properties:
                      error: {type: string, minLength: 1, description: why}
            401:
              description: missing, unknown or revoked API key
              content: *refusal
            403:
              description: the key belongs to another source
              content: *refusal
            413:
              description: too many events in one batch, or the body is too large
              content: *refusal
            429:
              description: >-
                the key sent EVENTS_RATE_LIMIT_PER_MINUTE batches in the last 60 seconds
                (a sliding window)
              headers:
                Retry-After:
                  required: true
                  description: seconds until the window has room for one more batch
                  schema: {type: integer, minimum: 1, maximum: 60}
              content:
                application/json:
                  schema:
                    type: object
                    required: [error, retry_after]
                    properties:
                      error: {type: string, minLength: 1}
                      retry_after: {type: integer, minimum: 1, maximum: 60}
        """
        key = find_active_key(request.headers.get(API_KEY_HEADER, ""))
        if key is None:
            return _error(401, f"missing, unknown or revoked API key (header {API_KEY_HEADER})")
        max_bytes = int(current_app.config.get("EVENTS_MAX_BODY_BYTES", 20 * 1024 * 1024))
        if (request.content_length or 0) > max_bytes:
            return _error(413, f"body larger than {max_bytes} bytes")
        wait = _rate_limited(key.id)
        if wait is not None:
            response = _error(429, "too many batches in the last 60 seconds", retry_after=wait)
            response.headers["Retry-After"] = str(wait)
            return response
        raw = request.get_data(cache=False)
        if len(raw) > max_bytes:
            return _error(413, f"body larger than {max_bytes} bytes")
        body, problem = _parse_body(raw)
        if problem is not None:
            return _error(400, problem)
        if isinstance(body, dict):
            if "source" in body and body["source"] != key.source:
                return _error(403, f"this key may only report events of source {key.source!r}")
            events = body.get("events")
        else:
            events = body
        if not isinstance(events, list):
            return _error(
                400, "expected a JSON array of events or an object with an 'events' array"
            )
        limit = int(current_app.config.get("EVENTS_MAX_BATCH", 5000))
        if len(events) > limit:
            return _error(413, f"{len(events)} events in one batch; the limit is {limit}")
        currency = current_app.config.get("DEFAULT_CURRENCY", "RUB")
        results = ingest_batch(key.source, events, currency)
        counts = {status.value: 0 for status in IntakeStatus}
        for result in results:
            counts[result.status.value] += 1
        if counts[IntakeStatus.accepted.value]:
            request_evaluation()
        return jsonify({"source": key.source, **counts, "results": [r.to_json() for r in results]})
