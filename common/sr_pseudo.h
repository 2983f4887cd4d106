/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keyed pseudonyms: the one place that turns a citizen's address or a provider's message id into
 * hex HMAC-SHA256 under [privacy] citizen_hash_key. The evaluation store, the idle-expiry sweep,
 * the webhook path and `suara privacy purge` all call these, so a hash made in one place always
 * matches one made in another.
 */
#ifndef SR_PSEUDO_H
#define SR_PSEUDO_H

#define SR_PSEUDO_LEN 65 /* 64 hex digits + NUL */

/* The citizen pseudonym: hex HMAC-SHA256(key, address), address as the handlers normalise it
 * (digits only). key and address borrowed; out gets 64 hex digits. */
void sr_pseudo_citizen(const char *key, const char *address, char out[SR_PSEUDO_LEN]);

/* The pseudonym of a number typed by a person ("+62 812-0000-0001"): its digits only, as the
 * handlers normalise addresses, then sr_pseudo_citizen. -1 (out untouched) with fewer than 8
 * digits. digits_out (optional, at least strlen(number) + 1 bytes) gets the digits. */
int sr_pseudo_citizen_number(const char *key, const char *number, char out[SR_PSEUDO_LEN],
                             char *digits_out);

/* A provider message id as stored: "h:" + hex HMAC-SHA256(key, "msgid:" + id). WhatsApp ids
 * encode the sender's number, so only this form is kept; an incoming status is matched by hashing
 * its id the same way. out gets 66 characters + NUL. */
#define SR_PSEUDO_ID_LEN 67
void sr_pseudo_provider_id(const char *key, const char *id, char out[SR_PSEUDO_ID_LEN]);
/* 1 if id already has the stored form (so hashing twice is avoided in migrations). */
int sr_pseudo_is_provider_id(const char *id);

#endif
