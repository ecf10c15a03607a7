"""The ceiling of the web tier: a WSGI callable that does nothing, under the same gunicorn
settings as oneping.wsgi. Whatever oneping does per request costs on top of this.

    gunicorn bench.bare_wsgi:application
"""

BODY = b'{"status": "ok"}'


def application(environ, start_response):
    # Read the body like a real view would, so POST benchmarks compare like with like.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]
