/* SPDX-License-Identifier: Apache-2.0 */
/* Keyed pseudonyms of citizens' addresses and provider message ids (HMAC-SHA256, libcrypto). */
#include "sr_pseudo.h"

#include "sr_mem.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static void hmac_hex(const char *key, const char *prefix, const char *data, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *msg = sr_asprintf("%s%s", prefix, data);
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac, &n);
    free(msg);
    for (unsigned i = 0; i < 32 && i < n; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
}

void sr_pseudo_citizen(const char *key, const char *address, char out[SR_PSEUDO_LEN])
{
    hmac_hex(key ? key : "", "", address ? address : "", out);
}

int sr_pseudo_citizen_number(const char *key, const char *number, char out[SR_PSEUDO_LEN],
                             char *digits_out)
{
    char *d = sr_calloc(strlen(number ? number : "") + 1, 1), *o = d;
    for (const char *p = number ? number : ""; *p; p++)
        if (*p >= '0' && *p <= '9')
            *o++ = *p;
    int ok = o - d >= 8;
    if (ok)
        sr_pseudo_citizen(key, d, out);
    if (ok && digits_out)
        strcpy(digits_out, d);
    free(d);
    return ok ? 0 : -1;
}

void sr_pseudo_provider_id(const char *key, const char *id, char out[SR_PSEUDO_ID_LEN])
{
    out[0] = 'h';
    out[1] = ':';
    hmac_hex(key ? key : "", "msgid:", id ? id : "", out + 2);
}

int sr_pseudo_is_provider_id(const char *id)
{
    if (!id || strncmp(id, "h:", 2) != 0 || strlen(id) != 66)
        return 0;
    return strspn(id + 2, "0123456789abcdef") == 64;
}
