"""Ready-made rule sets for common senders. Data, not code: each becomes ordinary rules."""

from typing import Any

PRESETS: list[dict[str, Any]] = [
    {
        "key": "shopify-orders",
        "name": "Shopify: new orders",
        "verification": "shopify",
        "rules": [
            {
                "event": "orders/create",
                "subject": "New order {{ name }}",
                "message": "New order #{{ order_number }}: {{ total_price }} {{ currency }} "
                "from {{ customer.first_name }} {{ customer.last_name }}",
            }
        ],
    },
    {
        "key": "github",
        "name": "GitHub: pushes and pull requests",
        "verification": "github",
        "rules": [
            {
                "event": "push",
                "subject": "Push to {{ repository.full_name }}",
                "message": "{{ pusher.name }} pushed {{ commits | length }} commit(s) to "
                "{{ repository.full_name }} ({{ ref }}): {{ compare }}",
            },
            {
                "event": "pull_request",
                "subject": "PR #{{ number }} {{ action }}",
                "message": "Pull request #{{ number }} {{ action }} in "
                "{{ repository.full_name }}: {{ pull_request.title }} "
                "by {{ pull_request.user.login }} {{ pull_request.html_url }}",
            },
        ],
    },
    {
        "key": "stripe-payments",
        "name": "Stripe: payments succeeded and charges failed",
        "verification": "stripe",
        "rules": [
            {
                "event": "payment_intent.succeeded",
                "subject": "Payment received",
                "message": "Payment of {{ '%.2f' | format(data.object.amount_received / 100) }} "
                "{{ data.object.currency | upper }} succeeded ({{ data.object.id }})",
            },
            {
                "event": "charge.failed",
                "subject": "Charge failed",
                "message": "Charge of {{ '%.2f' | format(data.object.amount / 100) }} "
                "{{ data.object.currency | upper }} failed: "
                "{{ data.object.failure_message or 'no reason given' }}",
            },
        ],
    },
    {
        "key": "alertmanager",
        "name": "Grafana / Alertmanager alerts",
        "verification": "hmac_sha256",
        "rules": [
            {
                "event": "*",
                "subject": "[{{ status | upper }}] {{ commonLabels.alertname }}",
                "message": "[{{ status | upper }}] {{ commonLabels.alertname }}: "
                "{{ commonAnnotations.summary or commonAnnotations.description or '' }} "
                "({{ alerts | length }} alert(s))",
            }
        ],
    },
    {
        "key": "generic",
        "name": 'Generic JSON: {"event", "message"}',
        "verification": "hmac_sha256",
        "rules": [{"event": "*", "message": "{{ message }}"}],
    },
]

BY_KEY = {preset["key"]: preset for preset in PRESETS}


def rules_from_preset(key: str, channels: list[str], recipient: str) -> list[dict[str, Any]]:
    return [
        {**rule, "channels": channels, "recipient": recipient, "fallback_channels": []}
        for rule in BY_KEY[key]["rules"]
    ]
