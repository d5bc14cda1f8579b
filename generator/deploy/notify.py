"""After a deploy or rollback: a JSON summary POSTed to webhooks, and an email over SMTP.

A notification that fails is reported and never fails the deploy. SMTP credentials come from
`$SITEGEN_SMTP_USER` and `$SITEGEN_SMTP_PASSWORD` only.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from generator.config.settings import Target

TIMEOUT = 10


def notify(target: Target, summary: dict[str, Any]) -> list[str]:
    """Send the summary everywhere the target says; what went wrong, one line each."""
    problems = []
    for url in target.webhooks:
        problem = post_json(url, summary)
        if problem:
            problems.append(f"webhook {problem}")
    if target.mail is not None:
        try:
            send_mail(target, summary)
        except Exception as error:  # noqa: BLE001 - reported, never fatal
            problems.append(f"email via {target.mail.host}:{target.mail.port}: {error}")
    return problems


def post_json(url: str, document: Any) -> str | None:
    """POST a JSON document; what went wrong (naming the URL), or None."""
    request = urllib.request.Request(
        url,
        data=json.dumps(document, sort_keys=True).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "sitegen"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read()
    except Exception as error:  # noqa: BLE001 - reported, never fatal
        return f"{url}: {error}"
    return None


def send_mail(target: Target, summary: dict[str, Any]) -> None:
    mail = target.mail
    assert mail is not None
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = (
        f"sitegen: {summary['kind']} of {summary['site']} to "
        f"{summary['target']} {summary['result']}"
    )
    message.set_content(
        "\n".join(f"{key}: {value}" for key, value in sorted(summary.items())) + "\n"
    )
    with smtplib.SMTP(mail.host, mail.port, timeout=TIMEOUT) as client:
        if mail.starttls:
            client.starttls()
        user = os.environ.get("SITEGEN_SMTP_USER")
        if user:
            client.login(user, os.environ.get("SITEGEN_SMTP_PASSWORD", ""))
        client.send_message(message)
