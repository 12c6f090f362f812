/* visits.c - each event's visit, assigned by the script that pushes it (visits.h). */
#include "visits.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The push script. KEYS[1] is the shard's list; ARGV[1] the timeout and ARGV[2] the state's
 * TTL, in ms; then 8 arguments per envelope (visits_cmd_build()). Paths and ids are stored
 * raw and escaped for JSON as envelope_encode() escapes strings ('"', '\' and control
 * characters). Numbers are written with %d: Lua's tostring() would write 15-digit times in
 * exponent form. */
static const char script[] =
    "local timeout, ttl = tonumber(ARGV[1]), ARGV[2]\n"
    "local special = '[%z\\1-\\31\"\\\\]'\n"
    "local function esc1(c)\n"
    "  if c == '\"' or c == '\\\\' then return '\\\\' .. c end\n"
    "  return string.format('\\\\u%04x', string.byte(c))\n"
    "end\n"
    "local function esc(s)\n"
    "  if not string.find(s, special) then return s end\n"
    "  return (string.gsub(s, special, esc1))\n"
    "end\n"
    "local function num(v) return string.format('%d', v) end\n"
    "local function put(w, f, v) w[#w + 1] = f; w[#w + 1] = v end\n"
    "local function bounce(pv, it) if pv == 1 and it == 0 then return 1 end return 0 end\n"
    "local out, k = {}, 2\n"
    "for a = 3, #ARGV, 8 do\n"
    "  local nk, env = tonumber(ARGV[a]), ARGV[a + 1]\n"
    "  if nk == 0 then\n"
    "    out[#out + 1] = env\n"
    "  else\n"
    "    local key, m = KEYS[k], false\n"
    "    if nk == 2 and redis.call('EXISTS', key) == 0 and redis.call('EXISTS', KEYS[k + 1]) == 1 "
    "then\n"
    "      redis.call('RENAME', KEYS[k + 1], key)\n"
    "    end\n"
    "    k = k + nk\n"
    "    local id, ts, rcv = ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])\n"
    "    local cl, path, cid = ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]\n"
    "    if cid ~= '' then m = redis.call('HGET', key, 'e:' .. cid) end\n"
    "    if not m then\n"
    "      local st = redis.call('HMGET', key, 'id', 'start', 's', 'mr', 'mn', 'mx', 'pv', 'it', "
    "'en', 'ex')\n"
    "      local vid, start, s, mr, mn, mx, pv, it, en, ex\n"
    "      local n = 0\n"
    "      if st[1] and rcv - tonumber(st[4]) <= timeout then\n"
    "        vid, start, s = st[1], tonumber(st[2]), tonumber(st[3]) + 1\n"
    "        mr, mn, mx = math.max(tonumber(st[4]), rcv), tonumber(st[5]), tonumber(st[6])\n"
    "        pv, it, en, ex = tonumber(st[7]), tonumber(st[8]), st[9], st[10]\n"
    "      else\n"
    "        redis.call('DEL', key)\n"
    "        vid, start, s, mr, mn, mx, pv, it, en, ex = id, ts, 1, rcv, ts, ts, 0, 0, '', ''\n"
    "        n = 1\n"
    "      end\n"
    "      local b0, d0 = bounce(pv, it), mx - mn\n"
    "      local enf, xn, xo = 0, 0, nil\n"
    "      mn, mx = math.min(mn, ts), math.max(mx, ts)\n"
    "      if cl == 'p' then\n"
    "        pv = math.min(pv + 1, 2)\n"
    "        if path ~= '' then\n"
    "          if en == '' then en, enf = path, 1 end\n"
    "          if ex ~= path then\n"
    "            if ex ~= '' then xo = ex end\n"
    "            ex, xn = path, 1\n"
    "          end\n"
    "        end\n"
    "      elseif cl == 'i' then\n"
    "        it = 1\n"
    "      end\n"
    "      local b1 = bounce(pv, it)\n"
    "      local b, xb = b1 - b0, b1 - b0\n"
    "      if xn == 1 then xb = b1 end\n"
    "      local t = {'{\"id\":\"', esc(vid), '\",\"s\":', num(s), ',\"start\":', num(start),\n"
    "                 ',\"n\":', num(n), ',\"b\":', num(b), ',\"d\":', num(mx - mn - d0)}\n"
    "      if en ~= '' and (enf == 1 or b ~= 0) then t[#t + 1] = ',\"e\":\"' .. esc(en) .. '\"' "
    "end\n"
    "      t[#t + 1] = ',\"en\":' .. num(enf)\n"
    "      if ex ~= '' and (xn == 1 or xb ~= 0) then t[#t + 1] = ',\"x\":\"' .. esc(ex) .. '\"' "
    "end\n"
    "      t[#t + 1] = ',\"xn\":' .. num(xn) .. ',\"xb\":' .. num(xb)\n"
    "      if xo then t[#t + 1] = ',\"xo\":\"' .. esc(xo) .. '\",\"xob\":' .. num(b0) end\n"
    "      t[#t + 1] = '}'\n"
    "      m = table.concat(t)\n"
    "      local w = {key, 's', num(s), 'mr', num(mr)}\n"
    "      if n == 1 then put(w, 'id', vid); put(w, 'start', num(start)) end\n"
    "      if n == 1 or mn ~= tonumber(st[5]) then put(w, 'mn', num(mn)) end\n"
    "      if n == 1 or mx ~= tonumber(st[6]) then put(w, 'mx', num(mx)) end\n"
    "      if n == 1 or pv ~= tonumber(st[7]) then put(w, 'pv', num(pv)) end\n"
    "      if n == 1 or it ~= tonumber(st[8]) then put(w, 'it', num(it)) end\n"
    "      if n == 1 or en ~= st[9] then put(w, 'en', en) end\n"
    "      if n == 1 or ex ~= st[10] then put(w, 'ex', ex) end\n"
    "      if cid ~= '' then put(w, 'e:' .. cid, m) end\n"
    "      redis.call('HSET', unpack(w))\n"
    "    end\n"
    "    redis.call('PEXPIRE', key, ttl)\n"
    "    out[#out + 1] = string.sub(env, 1, -2) .. ',\"visit\":' .. m .. '}'\n"
    "  end\n"
    "end\n"
    "redis.call('LPUSH', KEYS[1], unpack(out))\n"
    "return #out\n";

/* Arguments of the script per envelope, and before the first. */
#define PER_ITEM 8
#define HEAD_ARGS 2

int
visits_script_sha1(char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(script, sizeof script - 1, md, &n, EVP_sha1(), NULL) != 1 || n != 20) {
        return -1;
    }
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
    return 0;
}

char
visits_class(const char *event_type)
{
    if (strcmp(event_type, "page_view") == 0) {
        return 'p';
    }
    if (strcmp(event_type, "scroll") == 0 || strcmp(event_type, "mousemove") == 0) {
        return 's';
    }
    return 'i';
}

size_t
visits_state_key(const char *shard_key, const char *site, const char *user, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s:visit:%zu:%s:%s", shard_key, strlen(site), site, user);

    return n < 0 ? outsz : (size_t)n;
}

/* Whether item i gets a visit, and how many state keys it names (0, 1 or 2). */
static int
keys_of(const struct visits_item *it)
{
    if (it->ev == NULL || it->ev->user_id == NULL || it->ev->user_id[0] == '\0') {
        return 0;
    }
    return it->ev->visitor == EVENT_VISITOR_HASH && it->prev_user != NULL &&
                   it->prev_user[0] != '\0'
               ? 2
               : 1;
}

/* Room for the text of one state key of ev under user. */
static size_t
key_room(const char *shard_key, const struct event *ev, const char *user)
{
    return strlen(shard_key) + strlen(ev->site_id) + strlen(user) + 32;
}

/* Append s (NUL-terminated, in the text) as the next argument. */
static void
arg(struct visits_cmd *c, const char *s, size_t len)
{
    c->argv[c->argc] = s;
    c->argvlen[c->argc++] = len;
}

/* Write a number into the text at *at and make it the next argument. */
static void
arg_num(struct visits_cmd *c, size_t *at, long long v)
{
    int n = snprintf(c->text + *at, 24, "%lld", v);

    arg(c, c->text + *at, (size_t)n);
    *at += (size_t)n + 1;
}

int
visits_cmd_build(struct visits_cmd *c, const char *shard_key, const char *sha, long timeout_s,
                 const struct visits_item *items, size_t n)
{
    size_t keys = 1, room = 3 * 24, at = 0, argc;

    for (size_t i = 0; i < n; i++) {
        int k = keys_of(&items[i]);
        keys += (size_t)k;
        room += 2 * 24 + 2;
        if (k > 0) {
            room += key_room(shard_key, items[i].ev, items[i].ev->user_id);
        }
        if (k > 1) {
            room += key_room(shard_key, items[i].ev, items[i].prev_user);
        }
    }
    argc = 3 + keys + HEAD_ARGS + PER_ITEM * n;
    if (argc > c->cap) {
        const char **argv = realloc(c->argv, argc * sizeof *argv);
        size_t *lens = argv != NULL ? realloc(c->argvlen, argc * sizeof *lens) : NULL;
        if (argv != NULL) {
            c->argv = argv;
        }
        if (lens == NULL) {
            return -1;
        }
        c->argvlen = lens;
        c->cap = argc;
    }
    if (room > c->text_cap) {
        char *t = realloc(c->text, room);
        if (t == NULL) {
            return -1;
        }
        c->text = t;
        c->text_cap = room;
    }
    c->argc = 0;
    if (sha != NULL) {
        arg(c, "EVALSHA", 7);
        arg(c, sha, strlen(sha));
    } else {
        arg(c, "EVAL", 4);
        arg(c, script, sizeof script - 1);
    }
    arg_num(c, &at, (long long)keys);
    arg(c, shard_key, strlen(shard_key));
    for (size_t i = 0; i < n; i++) {
        int k = keys_of(&items[i]);
        for (int j = 0; j < k; j++) {
            const char *user = j == 0 ? items[i].ev->user_id : items[i].prev_user;
            size_t len = visits_state_key(shard_key, items[i].ev->site_id, user, c->text + at,
                                          c->text_cap - at);
            arg(c, c->text + at, len);
            at += len + 1;
        }
    }
    arg_num(c, &at, (long long)timeout_s * 1000);
    arg_num(c, &at, ((long long)timeout_s + VISITS_MARGIN_S) * 1000);
    for (size_t i = 0; i < n; i++) {
        const struct visits_item *it = &items[i];
        const struct event *ev = it->ev;
        int k = keys_of(it);
        arg(c, k == 0 ? "0" : k == 1 ? "1" : "2", 1);
        arg(c, it->envelope, it->len);
        if (k == 0) {
            for (int j = 0; j < PER_ITEM - 2; j++) {
                arg(c, "", 0);
            }
            continue;
        }
        arg(c, ev->id, strlen(ev->id));
        arg_num(c, &at, (long long)ev->ts_ms);
        arg_num(c, &at, (long long)ev->received_ms);
        switch (visits_class(ev->event_type)) {
        case 'p':
            arg(c, "p", 1);
            break;
        case 's':
            arg(c, "s", 1);
            break;
        default:
            arg(c, "i", 1);
        }
        arg(c, ev->path != NULL ? ev->path : "", ev->path != NULL ? event_path_len(ev->path) : 0);
        arg(c, ev->client_id != NULL ? ev->id : "", ev->client_id != NULL ? strlen(ev->id) : 0);
    }
    return 0;
}

void
visits_cmd_with_text(struct visits_cmd *c)
{
    c->argv[0] = "EVAL";
    c->argvlen[0] = 4;
    c->argv[1] = script;
    c->argvlen[1] = sizeof script - 1;
}

void
visits_cmd_cleanup(struct visits_cmd *c)
{
    free(c->argv);
    free(c->argvlen);
    free(c->text);
    *c = (struct visits_cmd){0};
}
