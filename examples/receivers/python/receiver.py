#!/usr/bin/env python3
"""An example Hookshot webhook receiver in Python, standard library only.

It verifies X-ActiGraph-Signature against every secret in WEBHOOK_SECRETS,
answers the validation handshake, deduplicates on X-ActiGraph-Delivery and
logs one JSON line per request to stdout.

    WEBHOOK_SECRETS=s3cret RECEIVER_ADDR=127.0.0.1:9000 python3 receiver.py

It speaks plain HTTP so that it runs on a laptop; Hookshot sends to http://
URLs only when its operator allows them (HOOKSHOT_ALLOW_HTTP). In production
a receiver sits behind HTTPS: a TLS-terminating proxy, or
ssl.SSLContext.wrap_socket around the server's socket.
"""

import base64
import collections
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "X-ActiGraph-"
MAX_BODY = 10 * 1024 * 1024
MAX_SEEN = 10_000

# Several secrets, so that a rotation is a matter of adding the new one beside
# the old one and later dropping the old one. The key is the secret's UTF-8
# bytes.
SECRETS = [s.encode("utf-8") for s in os.environ.get("WEBHOOK_SECRETS", "").split(",") if s]

# The most recent delivery ids, oldest first. In memory only to keep the
# example short: a real receiver records the id in its database, in the
# transaction that stores the event, so that a restart or a second instance
# still knows it.
seen = collections.OrderedDict()
seen_lock = threading.Lock()
log_lock = threading.Lock()


def signature_matches(body, signatures):
    """Reports whether any signature is base64(HMAC-SHA256(secret, body)) for
    any secret, comparing in constant time."""
    for secret in SECRETS:
        expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
        for signature in signatures:
            if hmac.compare_digest(expected, signature.encode("utf-8")):
                return True
    return False


def first_time(delivery):
    """Records delivery and reports whether it was new."""
    with seen_lock:
        if delivery in seen:
            return False
        seen[delivery] = True
        if len(seen) > MAX_SEEN:
            seen.popitem(last=False)
        return True


def forget(delivery):
    with seen_lock:
        seen.pop(delivery, None)


def handle(event, body):
    """Where a real receiver's work starts. Hookshot waits for the answer (15 s
    at most by default), so store the event or queue it, and do anything slow
    after answering."""
    # Parse the verified bytes themselves: the signature covers them, not a
    # re-encoding.
    json.loads(body)


def log(**fields):
    with log_lock:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Hookshot's client expects
    timeout = 30  # seconds a client may take to send its request

    def do_POST(self):
        delivery = self.headers.get(PREFIX + "Delivery", "")
        event = self.headers.get(PREFIX + "Event", "")

        def answer(status, verified=False, duplicate=False, error=None, headers=()):
            line = dict(msg="delivery", delivery=delivery, event=event, verified=verified, duplicate=duplicate, status=status)
            if error:
                line["error"] = error
            log(**line)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if status >= 400:
                # The body may be unread: close rather than read it as the next request.
                self.send_header("Connection", "close")
                self.close_connection = True
            self.send_header("Content-Length", "0")
            self.end_headers()

        if self.path != "/hooks":
            return answer(404, error="no such path")
        # During a rotation the new secret's signature is in -Next; either may match.
        signatures = [s for s in (self.headers.get(PREFIX + "Signature"), self.headers.get(PREFIX + "Signature-Next")) if s]
        if not signatures:
            return answer(401, error="no signature")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return answer(411, error="no Content-Length")
        if length < 0:
            return answer(400, error="negative Content-Length")
        if length > MAX_BODY:
            return answer(413, error=f"body over {MAX_BODY} bytes")
        body = self.rfile.read(length)
        # The raw bytes are verified before anything parses them. The
        # validation request is signed too: only the webhook's owner can
        # validate it against this URL.
        if not signature_matches(body, signatures):
            return answer(401, error="the signature does not match the body under any secret")
        if event == "validation":
            code = self.headers.get(PREFIX + "Hook-Secret", "")
            return answer(200, verified=True, headers=[(PREFIX + "Hook-Secret", code)])
        # Hookshot delivers at least once: a repeat gets 200 so that it stops,
        # and is not processed again.
        if not first_time(delivery):
            return answer(200, verified=True, duplicate=True)
        try:
            handle(event, body)
        except Exception as e:
            forget(delivery)  # so that Hookshot's retry is processed
            return answer(500, verified=True, error=f"processing: {e}")
        answer(200, verified=True)

    def log_message(self, format, *args):
        pass  # one JSON line per request is logged instead


def main():
    if not SECRETS:
        sys.exit("set WEBHOOK_SECRETS to the webhook's HMAC secret (several separated by commas during a rotation)")
    host, _, port = os.environ.get("RECEIVER_ADDR", "127.0.0.1:9000").rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    bound_host, bound_port = server.server_address[:2]
    log(msg="listening", addr=f"{bound_host}:{bound_port}")
    server.serve_forever()


if __name__ == "__main__":
    main()
