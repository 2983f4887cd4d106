#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The fault harness's provider: a WhatsApp Cloud API / Twilio send endpoint that RECORDS every
send it accepts, so lost and repeated replies can be counted exactly, and that can be told to
misbehave for a while. Binds 127.0.0.1 only; standard library only.

  POST /graph/<phone_number_id>/messages                 WhatsApp send (Bearer token, JSON)
  POST /twilio/2010-04-01/Accounts/<sid>/Messages.json   Twilio send (basic auth, form)
  POST /_fault {"status": 500|429|503, "retry_after": 5, "delay_ms": 12000, "for_ms": 20000}
               for the next for_ms milliseconds every send is first delayed by delay_ms, then
               (with a status) refused with that status and Retry-After; {} ends the fault
  GET  /_stats {"accepted": n, "attempts": n, "refused": n, "connections": n}

Every accepted send is appended (one JSON line, flushed) to --record: {"to": recipient,
"id": the provider message id answered, "t": wall-clock seconds}. The file outlives the process,
so "provider down" is this process stopped and started again on the same port with the same
file. Credentials are checked for presence only and never stored.

  python3 recording_provider.py --port P --port-file F --record FILE
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
    def __init__(self, record_path):
        self.lock = threading.Lock()
        self.record = open(record_path, "a", encoding="utf-8")
        self.fault = {}
        self.until = 0.0
        self.stopping = False  # set on SIGTERM: sends are no longer answered
        self.stats = {"accepted": 0, "attempts": 0, "refused": 0, "connections": 0}

    def current_fault(self):
        with self.lock:
            self.stats["attempts"] += 1
            return dict(self.fault) if time.monotonic() < self.until else {}

    def accept(self, to, msg_id):
        line = json.dumps({"to": to, "id": msg_id, "t": time.time()}) + "\n"
        with self.lock:
            self.record.write(line)
            self.record.flush()
            self.stats["accepted"] += 1


STATE = None


def recipient(is_wa, body):
    """The recipient of a send, or None if the body is malformed."""
    try:
        text = body.decode("utf-8")
        if is_wa:
            doc = json.loads(text)
            to = doc.get("to") if isinstance(doc, dict) else None
        else:
            to = urllib.parse.parse_qs(text).get("To", [None])[0]
    except (UnicodeDecodeError, ValueError):
        return None
    return to if isinstance(to, str) and to else None


class Server(ThreadingHTTPServer):
    # Stopping joins the request threads: every recorded send got its answer written, so a
    # stop ("provider down") never fakes a repeat. Sends arriving while stopping are dropped
    # unanswered and unrecorded; idle keep-alive connections end after Handler.timeout, which
    # bounds that join.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a sender opening one connection per reply in
    # flight (up to 64 per worker) overflowed it, and the resets that followed made answered
    # sends look unanswered (and so sent again). A real provider's front accepts far more.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # A client that gave up (the slow fault) makes the late answer fail: expected here.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "recording-provider/1"
    timeout = 0.5

    def setup(self):
        super().setup()
        with STATE.lock:
            STATE.stats["connections"] += 1

    def log_message(self, fmt, *args):
        pass

    def has_auth(self):
        scheme, _, cred = self.headers.get("Authorization", "").partition(" ")
        return scheme.lower() in ("bearer", "basic") and bool(cred.strip())

    def read_body(self):
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = 0
        return self.rfile.read(n) if 0 < n <= MAX_BODY else b""

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
        if self.path == "/_stats":
            with STATE.lock:
                doc = dict(STATE.stats)
            return self.answer(200, doc)
        if self.path == "/_health":
            return self.answer(200, {"ok": True})
        return self.answer(404, {"error": "not found"})

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_fault":
            return self.set_fault(body)
        wa, tw = WA_PATH.match(self.path), TW_PATH.match(self.path)
        if not wa and not tw:
            return self.answer(404, {"error": "not found"})
        if STATE.stopping:  # going down: drop the connection unanswered, record nothing
            self.close_connection = True
            return None
        fault = STATE.current_fault()
        if fault.get("delay_ms"):
            time.sleep(fault["delay_ms"] / 1000.0)
        if fault.get("status"):
            return self.refuse(fault)
        to = recipient(bool(wa), body)
        if not self.has_auth() or to is None:
            with STATE.lock:
                STATE.stats["refused"] += 1
            return self.answer(400, {"error": {"message": "bad send", "code": 100}})
        return self.accept(bool(wa), to, tw.group(1) if tw else None)

    def accept(self, is_wa, to, sid):
        if is_wa:
            msg_id = "wamid.rec." + uuid.uuid4().hex
            doc = {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                   "messages": [{"id": msg_id}]}
            status = 200
        else:
            msg_id = "SM" + uuid.uuid4().hex
            doc = {"sid": msg_id, "account_sid": sid, "status": "queued", "to": to}
            status = 201
        STATE.accept(to, msg_id)  # recorded before the answer: a lost answer still counts
        self.answer(status, doc)

    def refuse(self, fault):
        with STATE.lock:
            STATE.stats["refused"] += 1
        status = int(fault["status"])
        extra = {}
        if fault.get("retry_after") is not None:
            extra["Retry-After"] = str(fault["retry_after"])
        code = 130429 if status == 429 else 131000
        self.answer(status, {"error": {"message": "fault", "code": code}}, extra)

    def set_fault(self, body):
        try:
            doc = json.loads(body.decode("utf-8") or "{}")
            fault = {"status": int(doc.get("status", 0) or 0),
                     "retry_after": doc.get("retry_after"),
                     "delay_ms": int(doc.get("delay_ms", 0) or 0)}
            for_ms = int(doc.get("for_ms", 0) or 0)
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError):
            return self.answer(400, {"error": "bad fault body"})
        with STATE.lock:
            STATE.fault = fault
            STATE.until = time.monotonic() + for_ms / 1000.0
        return self.answer(200, {"ok": True})


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--record", required=True)
    args = ap.parse_args()
    STATE = State(args.record)
    server = Server(("127.0.0.1", args.port), Handler)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    if args.port_file:
        write_file(args.port_file, "%d\n" % server.server_address[1])
    while not stop.wait(0.2):
        pass
    STATE.stopping = True
    server.shutdown()
    server.server_close()
    STATE.record.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
