#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates signed WhatsApp Cloud API webhook requests for the benchmark.

Each of --senders fake citizens completes one survey (NILAI <code>, four answers, a comment), so
every request exercises the full path: signature, parse, session load, dialog step, atomic commit.
Senders go in blocks of --block: step 1 of every sender of the block, then step 2, ..., so one
sender's steps are --block requests apart (far more than the requests in flight: a sender's next
message never overtakes the previous one). --steps 1 writes only the opening message (a live
session per sender, for the memory check). --first offsets the fake numbers so phases use
distinct senders. Output: one request per line, "<hex signature>\t<json body>".
"""
import argparse
import hashlib
import hmac
import json

STEPS = ["NILAI {code}", "4", "3", "sangat baik", "puas", "-"]
CODES = ["BMK001", "BMK002", "SRW001", "PDL001", "PKM001"]


def body(sender, msg_id, text):
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000000", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6280000000000",
                         "phone_number_id": "100000000000001"},
            "contacts": [{"profile": {"name": "Warga Bench"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": msg_id, "timestamp": "1790000000",
                          "type": "text", "text": {"body": text}}]}}]}]},
        separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--senders", type=int, default=20000)
    ap.add_argument("--secret", default="bench-app-secret")
    ap.add_argument("--run", default="r1", help="makes message ids unique per run")
    ap.add_argument("--block", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=len(STEPS))
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    key = a.secret.encode()
    with open(a.out, "w") as f:
        for lo in range(a.first, a.first + a.senders, a.block):
            hi = min(lo + a.block, a.first + a.senders)
            for step, tmpl in enumerate(STEPS[:a.steps]):
                for s in range(lo, hi):
                    sender = "629%010d" % s  # fake numbers in a range no operator uses
                    text = tmpl.format(code=CODES[s % len(CODES)])
                    b = body(sender, "wamid.bench.%s.%d.%d" % (a.run, s, step), text)
                    sig = hmac.new(key, b.encode(), hashlib.sha256).hexdigest()
                    f.write(sig + "\t" + b + "\n")


if __name__ == "__main__":
    main()
