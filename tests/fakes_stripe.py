"""A fake of Stripe's API on loopback: what oneping's billing calls, and Stripe's side of
a checkout (customers, subscriptions, signed webhook events).

- POST /v1/checkout/sessions (https://docs.stripe.com/api/checkout/sessions/create) and
  POST /v1/billing_portal/sessions (https://docs.stripe.com/api/customer_portal/sessions/create):
  form-encoded bodies as stripe-python sends them (nested keys as `a[b][0][c]`), kept in
  `requests` for assertions;
- GET /v1/subscriptions/<id> and GET /v1/customers/<id>: the objects as the test left them;
- a Bearer key check (401), Stripe's error JSON for bad or missing parameters (400) and
  unknown ids (404), and `fail_with(status)` for an outage;
- GET /pay/<session id>: the "Checkout page" a browser is sent to; visiting it completes the
  checkout, POSTs the signed events to `webhook_url` and redirects (303) to success_url.

Events are built and signed as Stripe does (https://docs.stripe.com/webhooks#verify-manually):
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.
Objects have the shapes of the API version stripe-python pins (stripe.api_version): a
subscription item carries current_period_end (2025-03-31.basil onwards).
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import stripe

from tests.fakes import LoopbackServer, Received

SECRET_KEY = "sk_test_51FakeOnePingKey0000000000000000"
WEBHOOK_SECRET = "whsec_fake0nep1ngS3cret000000000000"
PRICE_PRO = "price_1ProMonthly000000000"
PRICE_BUSINESS = "price_1BusinessMonthly0000"
MONTH = 30 * 24 * 3600

_numbers = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{next(_numbers):06d}{int(time.time() * 1000) % 10**8:08d}"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send with `payload`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An event as Stripe posts it (https://docs.stripe.com/api/events/object)."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": stripe.api_version,
        "created": created or int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": json.loads(json.dumps(obj))},
    }


def stripe_error(status: int, message: str, *, param: str | None = None, code: str = "") -> tuple:
    kind = "api_error" if status >= 500 else "invalid_request_error"
    body: dict[str, Any] = {"type": kind, "message": message}
    if param:
        body["param"] = param
    if code:
        body["code"] = code
    return status, {"error": body}


class FakeStripe(LoopbackServer):
    def __init__(self, secret_key: str = SECRET_KEY):
        self.secret_key = secret_key
        self.requests: list[Received] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.failing: int | None = None
        # Where GET /pay/<id> sends the checkout's events (the app's webhook URL).
        self.webhook_url = ""
        self.webhook_secret = WEBHOOK_SECRET
        self.delivered: list[requests.Response] = []
        self._lock = threading.Lock()
        self._serve(self._handler_class())

    def fail_with(self, status: int | None) -> None:
        """Answer every API request with `status` (Stripe's error JSON), or stop (None)."""
        self.failing = status

    def form(self, path: str) -> list[dict[str, str]]:
        """The form bodies POSTed to `path`, oldest first, nested keys as sent."""
        return [
            dict(parse_qsl(received.body.decode(), keep_blank_values=True))
            for received in self.requests
            if received.method == "POST" and received.path == path
        ]

    # --- Stripe's side of a subscription's life ------------------------------------------

    def complete_checkout(self, session_id: str, status: str = "active") -> dict[str, Any]:
        """The customer paid: a customer (unless the session named one) and a subscription
        on the session's price; returns the completed session."""
        with self._lock:
            session = self.sessions[session_id]
            customer = session["customer"]
            if not customer:
                customer = new_id("cus")
                self.customers[customer] = {
                    "id": customer,
                    "object": "customer",
                    "email": session["customer_email"],
                }
            now = int(time.time())
            subscription_id = new_id("sub")
            self.subscriptions[subscription_id] = {
                "id": subscription_id,
                "object": "subscription",
                "customer": customer,
                "status": status,
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "created": now,
                "livemode": False,
                "metadata": session["subscription_metadata"],
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": new_id("si"),
                            "object": "subscription_item",
                            "price": {"id": session["price"], "object": "price"},
                            "quantity": 1,
                            "current_period_start": now,
                            "current_period_end": now + MONTH,
                        }
                    ],
                },
            }
            session.update(
                customer=customer,
                subscription=subscription_id,
                status="complete",
                payment_status="paid",
            )
            return self._session_object(session)

    def update_subscription(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        """Change a subscription as the portal or a failed payment would: status,
        cancel_at_period_end, price…; returns the subscription as it now is."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            price = changes.pop("price", None)
            if price:
                subscription["items"]["data"][0]["price"] = {"id": price, "object": "price"}
            subscription.update(changes)
            if changes.get("status") == "canceled":
                subscription["canceled_at"] = int(time.time())
            return json.loads(json.dumps(subscription))

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self.subscriptions[subscription_id]))

    def checkout_events(self, session_id: str) -> list[dict[str, Any]]:
        """What Stripe sends when a checkout completes (after complete_checkout)."""
        session = self._session_object(self.sessions[session_id])
        subscription = self.subscription(session["subscription"])
        return [
            event("checkout.session.completed", session),
            event("customer.subscription.updated", subscription),
        ]

    def post_event(self, payload: dict[str, Any]) -> requests.Response:
        """POST a signed event to webhook_url, as Stripe does."""
        body = json.dumps(payload).encode()
        response = requests.post(
            self.webhook_url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(body, self.webhook_secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                # One request a connection: a kept-alive one would hold the live server's
                # thread, and its database connection, past the test (PostgreSQL then
                # refuses to drop the test database: "being accessed by other users").
                "Connection": "close",
            },
            timeout=10,
        )
        self.delivered.append(response)
        return response

    # --- The API -----------------------------------------------------------------------

    def _session_object(self, session: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": session["id"],
            "object": "checkout.session",
            "mode": session["mode"],
            "url": f"{self.url}/pay/{session['id']}" if session["status"] == "open" else None,
            "client_reference_id": session["client_reference_id"],
            "customer": session["customer"] or None,
            "customer_email": session["customer_email"] or None,
            "subscription": session.get("subscription"),
            "metadata": session["metadata"],
            "status": session["status"],
            "payment_status": session.get("payment_status", "unpaid"),
            "success_url": session["success_url"],
            "cancel_url": session["cancel_url"],
            "livemode": False,
        }

    def _create_checkout_session(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("mode") != "subscription":
            return stripe_error(400, "Only subscription mode is faked.", param="mode")
        if not form.get("line_items[0][price]"):
            return stripe_error(400, "Missing required param: line_items.", param="line_items")
        for name in ("success_url", "cancel_url"):
            if not form.get(name, "").startswith(("http://", "https://")):
                return stripe_error(400, f"Not a valid URL: {name}.", param=name)
        if form.get("customer") and form.get("customer_email"):
            return stripe_error(
                400,
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer",
            )
        if form.get("customer") and form["customer"] not in self.customers:
            return stripe_error(
                400,
                f"No such customer: '{form['customer']}'",
                param="customer",
                code="resource_missing",
            )
        prefix = "metadata["
        session = {
            "id": new_id("cs"),
            "mode": form["mode"],
            "price": form["line_items[0][price]"],
            "client_reference_id": form.get("client_reference_id"),
            "customer": form.get("customer", ""),
            "customer_email": form.get("customer_email", ""),
            "metadata": {k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix)},
            "subscription_metadata": {
                k[len("subscription_data[metadata][") : -1]: v
                for k, v in form.items()
                if k.startswith("subscription_data[metadata][")
            },
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "status": "open",
        }
        self.sessions[session["id"]] = session
        return 200, self._session_object(session)

    def _create_portal_session(self, form: dict[str, str]) -> tuple[int, dict]:
        customer = form.get("customer", "")
        if customer not in self.customers:
            return stripe_error(
                400, f"No such customer: '{customer}'", param="customer", code="resource_missing"
            )
        session_id = new_id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": form.get("return_url"),
            "url": f"{self.url}/portal/{session_id}",
            "livemode": False,
        }
        self.portal_sessions[session_id] = session
        return 200, session

    def _api(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        if self.failing:
            return stripe_error(self.failing, "Something went wrong on Stripe's end.")
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        with self._lock:
            if method == "POST" and path == "/v1/checkout/sessions":
                return self._create_checkout_session(form)
            if method == "POST" and path == "/v1/billing_portal/sessions":
                return self._create_portal_session(form)
            for prefix, objects in (
                ("/v1/subscriptions/", self.subscriptions),
                ("/v1/customers/", self.customers),
            ):
                if method == "GET" and path.startswith(prefix):
                    found = objects.get(path[len(prefix) :])
                    if found is None:
                        return stripe_error(
                            404,
                            f"No such object: '{path[len(prefix) :]}'",
                            code="resource_missing",
                        )
                    return 200, found
        return stripe_error(404, f"Unrecognized request URL ({method}: {path}).")

    def _pay(self, session_id: str) -> str:
        """The browser's visit to the Checkout page: pay, tell the app, go back."""
        self.complete_checkout(session_id)
        for payload in self.checkout_events(session_id):
            self.post_event(payload)
        return self.sessions[session_id]["success_url"]

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = urlsplit(self.path).path
                fake.requests.append(Received(method, path, dict(self.headers.items()), body))
                if method == "GET" and path.startswith("/pay/"):
                    self.send_response(303)
                    self.send_header("Location", fake._pay(path[len("/pay/") :]))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                    status, answer = stripe_error(401, "Invalid API Key provided.")
                else:
                    status, answer = fake._api(method, path, body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", new_id("req"))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def log_message(self, format, *args):
                pass

        return Handler
