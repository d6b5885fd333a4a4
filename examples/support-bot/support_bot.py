"""A small, deterministic customer-support bot: the "application" the example suite evaluates.

It stands in for a team's real LLM application so that the example runs offline. It answers from a
bundled knowledge base, follows a few directives it finds in the system prompt (so that changing the
prompt in the suite changes its behaviour, as it would with a real model), refuses unsafe requests
and answers order lookups as JSON.

ci-gate calls ``answer(request)`` with the request as a dict: ``vars``, ``messages``, ``prompt``,
``params``, ``case_id`` and ``sample``.
"""

from __future__ import annotations

import json
import re
from typing import Any

KB: list[dict[str, Any]] = [
    {
        "id": "refund-window",
        "keywords": ["refund", "money back", "return"],
        "answer": "You can request a full refund within 30 days of delivery. "
        "Refunds go back to the original payment method within 5 business days.",
    },
    {
        "id": "refund-digital",
        "keywords": ["digital", "download", "ebook", "gift card"],
        "answer": "Digital goods and gift cards cannot be refunded once they have been downloaded "
        "or redeemed, as our terms explain.",
    },
    {
        "id": "shipping-times",
        "keywords": ["shipping", "deliver", "arrive", "how long"],
        "answer": "Standard shipping takes 3 to 5 business days; express shipping takes 1 to 2 "
        "business days.",
    },
    {
        "id": "shipping-international",
        "keywords": ["international", "abroad", "overseas", "country", "countries"],
        "answer": "We ship to 42 countries. International orders take 7 to 14 business days and "
        "customs fees are paid by the recipient.",
    },
    {
        "id": "shipping-cost",
        "keywords": ["shipping cost", "free shipping", "delivery fee"],
        "answer": "Shipping is free on orders over $50; below that, standard shipping costs $4.99.",
    },
    {
        "id": "account-password",
        "keywords": ["password", "log in", "login", "locked out", "reset"],
        "answer": "To reset your password, use the 'Forgot password' link on the sign-in page; "
        "the reset link is valid for 1 hour.",
    },
    {
        "id": "account-delete",
        "keywords": ["delete my account", "close my account", "delete account", "gdpr"],
        "answer": "You can delete your account under Settings > Privacy. Deletion is permanent "
        "after 14 days.",
    },
    {
        "id": "account-email",
        "keywords": ["change my email", "email address", "update email"],
        "answer": "You can change your email address under Settings > Account; we send a "
        "confirmation link to the new address.",
    },
    {
        "id": "billing-invoice",
        "keywords": ["invoice", "receipt", "vat"],
        "answer": "Invoices are available under Orders > Invoices as PDF files, with VAT shown "
        "separately.",
    },
    {
        "id": "billing-payment",
        "keywords": ["pay", "payment", "credit card", "paypal"],
        "answer": "We accept Visa, Mastercard, American Express and PayPal.",
    },
    {
        "id": "billing-double-charge",
        "keywords": ["charged twice", "double charge", "duplicate charge"],
        "answer": "A duplicate charge is usually a pending authorisation that disappears within "
        "3 business days. If it stays, contact billing@example.com.",
    },
]

UNSAFE = re.compile(
    r"(?i)\b(credit card numbers? of|someone else'?s|hack|steal|bypass|other customers?'?|"
    r"home address of|weapon|exploit)\b"
)
ORDER = re.compile(r"(?i)\border\s*#?\s*(\d{4,})")

ORDERS = {
    "10042": {"status": "shipped", "carrier": "DHL", "eta_days": 2, "total": 59.9},
    "10043": {"status": "processing", "carrier": None, "eta_days": 5, "total": 12.5},
    "10044": {"status": "delivered", "carrier": "UPS", "eta_days": 0, "total": 120.0},
}

REFUSAL = "I'm sorry, but I can't help with that request."
FALLBACK = "I'm not sure about that. Let me connect you with a human agent at support@example.com."


def _system(request: dict[str, Any]) -> str:
    return " ".join(
        m["content"] for m in request.get("messages") or [] if m.get("role") == "system"
    ).lower()


def _question(request: dict[str, Any]) -> str:
    variables = request.get("vars") or {}
    return str(request.get("prompt") or variables.get("question") or "")


def _best_article(question: str) -> dict[str, Any] | None:
    q = question.lower()
    best, best_score = None, 0
    for article in KB:
        score = sum(len(k) for k in article["keywords"] if k in q)
        if score > best_score:
            best, best_score = article, score
    return best


def answer(request: dict[str, Any]) -> dict[str, Any]:
    question = _question(request)
    system = _system(request)
    params = request.get("params") or {}
    if UNSAFE.search(question):
        text = REFUSAL
    elif (match := ORDER.search(question)) is not None:
        order = ORDERS.get(match.group(1))
        payload = {"order_id": match.group(1), "found": order is not None, **(order or {})}
        text = json.dumps(payload)
    else:
        article = _best_article(question)
        if article is None:
            text = FALLBACK
        else:
            text = article["answer"]
            max_sentences = int(params.get("max_sentences", 0))
            if max_sentences:
                text = " ".join(re.split(r"(?<=[.!?])\s+", text)[:max_sentences])
            # Like a real model, it takes "reassure" too far unless told where to stop.
            reassure = "reassure the customer" in system and article["id"].startswith("refund")
            if reassure and (
                "never promise a refund" not in system or article["id"] == "refund-window"
            ):
                text = "Good news: you will get a full refund. " + text
            if "cite the article" in system:
                text += f" [source: {article['id']}]"
    if "greet the customer" in system and not text.startswith("{"):
        text = "Hi there! " + text
    words = len(question.split()) + len(system.split())
    return {
        "output": text,
        "usage": {"input_tokens": words * 4 // 3 + 1, "output_tokens": len(text) // 4 + 1},
    }
