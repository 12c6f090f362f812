/* visitor.c - the derived visitor id (visitor.h). */
#include "visitor.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

int
visitor_hmac_sha256(const unsigned char *key, size_t key_len, const unsigned char *msg, size_t len,
                    unsigned char out[32])
{
    unsigned int n = 0;

    if (key_len > 1024 || HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &n) == NULL ||
        n != 32) {
        return -1;
    }
    return 0;
}

int
visitor_derive(const unsigned char *salt, size_t salt_len, const char *site_id, const char *client,
               const char *user_agent, char out[EVENT_VISITOR_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char stack[1024], *msg = stack, mac[32];
    const char *ua = user_agent != NULL ? user_agent : "";
    size_t ns = strlen(site_id), nc = strlen(client), nu = strlen(ua);
    size_t len = ns + 1 + nc + 1 + nu;
    int rc;

    if (len > sizeof stack && (msg = malloc(len)) == NULL) {
        return -1;
    }
    memcpy(msg, site_id, ns);
    msg[ns] = '\0';
    memcpy(msg + ns + 1, client, nc);
    msg[ns + 1 + nc] = '\0';
    memcpy(msg + ns + 1 + nc + 1, ua, nu);
    rc = visitor_hmac_sha256(salt, salt_len, msg, len, mac);
    if (msg != stack) {
        free(msg);
    }
    if (rc != 0) {
        return -1;
    }
    for (size_t i = 0; i < EVENT_VISITOR_ID_LEN / 2; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[EVENT_VISITOR_ID_LEN] = '\0';
    return 0;
}
