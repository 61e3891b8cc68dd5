"""E-mail for workflows: every message goes to the outbox table and the log; with
``MAIL_SERVER`` configured it is also sent over SMTP (``smtplib``, no other client).

Settings (all optional, read from the app config): ``MAIL_SERVER``, ``MAIL_PORT``
(default 25), ``MAIL_USE_TLS`` (STARTTLS), ``MAIL_USE_SSL``, ``MAIL_USERNAME``,
``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER`` (default :data:`DEFAULT_SENDER`),
``MAIL_TIMEOUT`` (seconds, default :data:`SMTP_TIMEOUT`).
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

from server.workflows.models import OutboxStatus

logger = logging.getLogger(__name__)

#: the From address when ``MAIL_DEFAULT_SENDER`` is not set
DEFAULT_SENDER = "partnerflow@localhost"
#: seconds an SMTP conversation may take before the action fails (and is retried)
SMTP_TIMEOUT = 10


def deliver(recipients: list[str], subject: str, body: str) -> OutboxStatus:
    """Log the message; send it when SMTP is configured.

    Returns :attr:`OutboxStatus.sent` or :attr:`OutboxStatus.logged`.

    Raises:
        OSError, smtplib.SMTPException: the SMTP server refused or could not be reached.
    """
    config = current_app.config
    logger.info("workflow e-mail to %s: %s\n%s", ", ".join(recipients), subject, body)
    server = config.get("MAIL_SERVER")
    if not server:
        return OutboxStatus.logged
    message = EmailMessage()
    message["From"] = config.get("MAIL_DEFAULT_SENDER") or DEFAULT_SENDER
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    port = int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT") or SMTP_TIMEOUT)
    smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    with smtp_class(server, port, timeout=timeout) as smtp:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    return OutboxStatus.sent
