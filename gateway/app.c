/* SPDX-License-Identifier: Apache-2.0 */
/* Small process-wide helpers: channel lookup, citizen pseudonyms, the clock. */
#include "app.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <time.h>

const struct app_channel *app_channel_find(const struct app *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->n_channels; i++) {
        const char *n = a->channels[i].conf->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &a->channels[i];
    }
    return NULL;
}

void app_citizen_hash(const struct app *a, const char *address, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const char *key = a->cfg->privacy.citizen_hash_key;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)address, strlen(address), mac,
         &n);
    for (unsigned i = 0; i < 32 && i < n; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
}

int64_t app_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
