#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Sends one citizen text message to the local demo gateway as WhatsApp Cloud API would:
# the real webhook JSON shape, signed with X-Hub-Signature-256 using the demo app secret.
#   ./deploy/send-demo.sh "NILAI BMK001" [sender-number]
# The default sender is an obviously fake number.
set -eu
text=${1:?usage: send-demo.sh TEXT [SENDER]}
from=${2:-6280000009999}
url=${SUARA_URL:-http://127.0.0.1:8080/webhooks/wa}
secret=${SUARA_CHANNEL_WA_APP_SECRET:-demo-app-secret}
id="wamid.demo.$(date +%s%N)"
ts=$(date +%s)
body=$(python3 -c 'import json,sys; t,f,i,s=sys.argv[1:]; print(json.dumps({"object":"whatsapp_business_account","entry":[{"id":"100000000000000","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"6280000000000","phone_number_id":"100000000000001"},"contacts":[{"profile":{"name":"Warga Demo"},"wa_id":f}],"messages":[{"from":f,"id":i,"timestamp":s,"type":"text","text":{"body":t}}]}}]}]}, separators=(",",":")))' "$text" "$from" "$id" "$ts")
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
curl -sS -i -X POST "$url" -H 'Content-Type: application/json' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body"
echo
