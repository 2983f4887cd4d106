#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A local stand-in for the provider send APIs (WhatsApp Cloud API, Twilio), for tests.

Binds 127.0.0.1 only. Standard library only. HTTP/1.1 with keep-alive, so clients can reuse
connections (GET /_stats counts the TCP connections accepted).

  POST /graph/<phone_number_id>/messages                  WhatsApp send (Bearer token, JSON)
  POST /twilio/2010-04-01/Accounts/<sid>/Messages.json    Twilio send (basic auth, form)
  POST /_control   {"fail_next": N, "status": 503, "retry_after": 1, "delay_ms": 0,
                    "error_code": 131050}   the next N provider calls answer that status (or,
                    without a status, are only delayed by delay_ms)
  GET /_requests   recorded provider calls (method, path, content_type, has_auth, body,
                   answered status, t = monotonic seconds); DELETE /_requests clears them
  GET /_stats      {"connections": n, "requests": n, "in_flight": n}  (in_flight: provider calls
                   read but not yet answered, e.g. held by delay_ms)
  GET /_health     200

Credentials are only recorded as present / absent, never stored or echoed.

  python3 mock_provider.py --port 0 --port-file F [--pid-file F]
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WA_PATH = re.compile(r"^/graph/([^/]+)/messages$")
TW_PATH = re.compile(r"^/twilio/2010-04-01/Accounts/([^/]+)/Messages\.json$")
MAX_BODY = 1 << 20


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self.in_flight = 0
        self.counter = 0
        self.fault = None  # dict with remaining count

    def take_fault(self):
        with self.lock:
            f = self.fault
            if not f or f["left"] <= 0:
                return None
            f["left"] -= 1
            return dict(f)

    def next_id(self):
        with self.lock:
            self.counter += 1
            return self.counter


STATE = State()


def wa_error(status, code, message):
    return status, {"error": {"message": message, "type": "OAuthException", "code": code}}


def tw_error(status, code, message):
    return status, {"code": code, "message": message, "status": status}


def wa_send(handler, body):
    if not handler.auth_scheme() == "bearer":
        return wa_error(401, 190, "missing or malformed access token")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return wa_error(400, 100, "body is not JSON")
    if not isinstance(doc, dict) or doc.get("messaging_product") != "whatsapp":
        return wa_error(400, 100, "messaging_product must be whatsapp")
    to = doc.get("to")
    if not isinstance(to, str) or not to:
        return wa_error(400, 100, "missing parameter to")
    n = STATE.next_id()
    return 200, {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": "wamid.mock.%d" % n}],
    }


def tw_send(handler, body, sid):
    if not handler.auth_scheme() == "basic":
        return tw_error(401, 20003, "Authenticate")
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return tw_error(400, 21604, "malformed form body")
    for field in ("To", "From", "Body"):
        if not form.get(field) or not form[field][0]:
            return tw_error(400, 21604, "A '%s' parameter is required." % field)
    STATE.next_id()
    return 201, {
        "sid": "SM" + uuid.uuid4().hex,
        "account_sid": sid,
        "status": "queued",
        "to": form["To"][0],
        "from": form["From"][0],
        "body": form["Body"][0],
        "num_segments": "1",
    }


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5; the sender opens one connection per reply in
    # flight (up to 64 per worker), so a burst would overflow it and look like a provider fault.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # A client that gave up (timeout test) makes the late answer fail: not an error here.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-provider/1"

    def setup(self):
        super().setup()
        with STATE.lock:
            STATE.connections += 1

    def log_message(self, fmt, *args):  # quiet: tests read /_requests instead
        pass

    def auth_scheme(self):
        value = self.headers.get("Authorization", "")
        scheme, _, cred = value.partition(" ")
        scheme = scheme.lower()
        if scheme in ("bearer", "basic") and cred.strip():
            return scheme
        return None

    def read_body(self):
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = 0
        if n < 0 or n > MAX_BODY:
            n = 0
        return self.rfile.read(n) if n else b""

    def answer(self, status, doc, extra=None):
        data = json.dumps(doc).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_health":
            return self.answer(200, {"ok": True})
        if self.path == "/_requests":
            with STATE.lock:
                reqs = list(STATE.requests)
            return self.answer(200, reqs)
        if self.path == "/_stats":
            with STATE.lock:
                doc = {
                    "connections": STATE.connections,
                    "requests": len(STATE.requests),
                    "in_flight": STATE.in_flight,
                }
            return self.answer(200, doc)
        return self.answer(404, {"error": "not found"})

    def do_DELETE(self):
        body = self.read_body()
        del body
        if self.path == "/_requests":
            with STATE.lock:
                STATE.requests = []
            return self.answer(200, {"ok": True})
        return self.answer(404, {"error": "not found"})

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_control":
            return self.control(body)
        wa = WA_PATH.match(self.path)
        tw = TW_PATH.match(self.path)
        if not wa and not tw:
            return self.answer(404, {"error": "not found"})
        with STATE.lock:
            STATE.in_flight += 1
        try:
            self.provider_call(body, wa, tw)
        finally:
            with STATE.lock:
                STATE.in_flight -= 1

    def provider_call(self, body, wa, tw):
        fault = STATE.take_fault()
        if fault and fault.get("delay_ms"):
            time.sleep(fault["delay_ms"] / 1000.0)  # the injected fault itself, not a test wait
        if fault and fault.get("status"):
            status, doc, extra = self.fault_answer(fault, bool(wa))
        elif wa:
            status, doc = wa_send(self, body)
            extra = None
        else:
            status, doc = tw_send(self, body, tw.group(1))
            extra = None
        self.record(body, status)
        self.answer(status, doc, extra)

    def fault_answer(self, fault, is_wa):
        status = int(fault["status"])
        code = int(fault.get("error_code") or (130429 if status == 429 else 131000))
        if is_wa:
            _, doc = wa_error(status, code, "mock fault")
        else:
            _, doc = tw_error(status, code, "mock fault")
        extra = {}
        if fault.get("retry_after") is not None:
            extra["Retry-After"] = str(fault["retry_after"])
        return status, doc, extra

    def record(self, body, status):
        entry = {
            "method": self.command,
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "has_auth": self.auth_scheme() is not None,
            "auth_scheme": self.auth_scheme(),
            "body": body.decode("utf-8", errors="replace"),
            "status": status,
            "t": time.monotonic(),  # for spacing checks only
        }
        with STATE.lock:
            STATE.requests.append(entry)

    def control(self, body):
        try:
            doc = json.loads(body.decode("utf-8") or "{}")
            fault = {
                "left": int(doc.get("fail_next", 0)),
                "status": int(doc.get("status", 0) or 0),
                "retry_after": doc.get("retry_after"),
                "delay_ms": int(doc.get("delay_ms", 0) or 0),
                "error_code": doc.get("error_code"),
            }
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError):
            return self.answer(400, {"error": "bad control body"})
        with STATE.lock:
            STATE.fault = fault
        return self.answer(200, {"ok": True})


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # readers never see a partial file


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    worker.start()
    if args.pid_file:
        write_file(args.pid_file, "%d\n" % os.getpid())
    if args.port_file:
        write_file(args.port_file, "%d\n" % server.server_address[1])
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
