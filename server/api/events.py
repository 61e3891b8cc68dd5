"""``POST /api/v1/events``: integrations report batches of sales events.

Thin: authenticate the key, parse, check limits, run :func:`ingest_batch`, queue
evaluation, answer per event. The JSON body is parsed here with ``parse_float=Decimal``
so amounts keep their decimal text.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_appbuilder.api import BaseApi, expose

from server.ledger.intake import IntakeStatus, ingest_batch
from server.queues import redis_connection
from server.security.api_keys import find_active_key
from server.tasks.events import request_evaluation

API_KEY_HEADER = "X-API-Key"


def _error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _rate_limited(key_id: int) -> int | None:
    """Seconds to wait if this key sent too many batches this minute, else None."""
    limit = int(current_app.config.get("EVENTS_RATE_LIMIT_PER_MINUTE", 120))
    if limit <= 0:
        return None
    connection = redis_connection()
    window = int(connection.time()[0]) // 60
    counter = f"partnerflow:rate:events:{key_id}:{window}"
    used = connection.incr(counter)
    if used == 1:
        connection.expire(counter, 120)
    return 60 - int(connection.time()[0]) % 60 if int(used) > limit else None


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
            Each event uses the fields of the rules contract (id, type, occurred_at,
            partner / qr_token / promo_code / referral, channel, amount, currency,
            customer, category, refers_to, action, count). Events are stored before they
            are queued for evaluation; the answer lists every event as accepted,
            duplicate (sent before with the same payload: nothing changes), conflict
            (the id was used before with a different payload: refused) or rejected (with
            the reason). Idempotency key: (the key's source, event id).
          parameters:
          - in: header
            name: X-API-Key
            required: true
            schema: {type: string}
            description: the integration's API key (created by an admin, scoped to a source)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  oneOf:
                  - type: array
                    items: {type: object}
                  - type: object
                    properties:
                      source: {type: string, description: must equal the key's source}
                      events: {type: array, items: {type: object}}
                    required: [events]
          responses:
            200:
              description: one result per event, in order
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      source: {type: string}
                      accepted: {type: integer}
                      duplicate: {type: integer}
                      conflict: {type: integer}
                      rejected: {type: integer}
                      results:
                        type: array
                        items:
                          type: object
                          properties:
                            index: {type: integer}
                            id: {type: string, nullable: true}
                            status: {type: string, enum: [accepted, duplicate, conflict, rejected]}
                            reason: {type: string}
            400: {description: the body is not JSON, or not a batch}
            401: {description: missing, unknown or revoked API key}
            403: {description: the key belongs to another source}
            413: {description: too many events in one batch, or the body is too large}
            429: {description: too many batches this minute; see Retry-After}
        """
        key = find_active_key(request.headers.get(API_KEY_HEADER, ""))
        if key is None:
            return _error(401, f"missing, unknown or revoked API key (header {API_KEY_HEADER})")
        max_bytes = int(current_app.config.get("EVENTS_MAX_BODY_BYTES", 20 * 1024 * 1024))
        if (request.content_length or 0) > max_bytes:
            return _error(413, f"body larger than {max_bytes} bytes")
        wait = _rate_limited(key.id)
        if wait is not None:
            response = _error(429, "too many batches this minute", retry_after=wait)
            response.headers["Retry-After"] = str(wait)
            return response
        raw = request.get_data(cache=False)
        if len(raw) > max_bytes:
            return _error(413, f"body larger than {max_bytes} bytes")
        try:
            body = json.loads(raw, parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _error(400, f"malformed JSON: {error}")
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
