/* visits.c - each event's visit, assigned by the script that pushes it (visits.h). */
#include "visits.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

/* The push script. KEYS[1] is the shard's list, then each visitor's state key (and a hashed
 * visitor's key under yesterday's id); ARGV[1] the timeout and ARGV[2] the state's TTL, in ms;
 * then 4 arguments per envelope (visits_cmd_build()): its head, the envelope without its
 * final '}' (whole when it gets no visit), its _id and its path, both escaped for JSON. The
 * head is "0" for an envelope without a visit, else 19 bytes for struct.unpack('<c1c1c1dd'):
 * the number of its state keys ('1' or '2'), visits_class(), 'c' when the client sent an
 * event_id (else '-'), ts and received (little-endian doubles, exact below 2^53 ms). A state
 * is a hash: `st`, the visit as struct.pack(SF): s (the last seq), mr (the latest arrival),
 * mn and mx (the least and greatest ts), pv (page views, capped at 2), it (interacted), pe
 * (the arrival at which the TTL was last set), id, start (as text), en and ex (the entry and
 * exit paths, "" for none; paths and id as escaped JSON text, which holds no NUL), and
 * `e:<_id>` for each event sent with a client event_id. Each key is read once per call
 * (HGET first: yesterday's key is looked at only when today's has no state) and written once
 * at its end; the TTL is set again only once half the margin has passed since it last was,
 * so a state lives at least VISIT_TIMEOUT_S + VISITS_MARGIN_S / 2 after its visit's last
 * event. Small numbers come from a table and the others from %d (Lua's tostring() would write
 * 15-digit times in exponent form). Each Lua string made, redis.call, string.format and
 * unpacked value costs hundreds to thousands of instructions inside Redis, which runs every
 * ingest's scripts on one thread: hence binary heads and states, escaping in C and one
 * concatenation per envelope (docs/benchmarks.md, part 13, has the instructions per event). */
static const char script[] =
    "local timeout, ttl = tonumber(ARGV[1]), ARGV[2]\n"
    "local refresh = (tonumber(ttl) - timeout) / 2\n"
    "local fmt, spack, sunpack = string.format, struct.pack, struct.unpack\n"
    "local SF = '<dddddddssss'\n"
    "local I = {[-1] = '-1', [0] = '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}\n"
    "local cache, order, out, no, k = {}, {}, {}, 0, 2\n"
    "for a = 3, #ARGV, 4 do\n"
    "  local h, env = ARGV[a], ARGV[a + 1]\n"
    "  no = no + 1\n"
    "  if h == '0' then\n"
    "    out[no] = env\n"
    "  else\n"
    "    local nk, cl, cf, ts, rcv = sunpack('<c1c1c1dd', h)\n"
    "    local id, key, m = ARGV[a + 2], KEYS[k], nil\n"
    "    local c = cache[key]\n"
    "    if nk == '2' then k = k + 2 else k = k + 1 end\n"
    "    if c == nil then\n"
    "      local r, e\n"
    "      if cf == 'c' then r = redis.call('HMGET', key, 'st', 'e:' .. id); r, e = r[1], r[2]\n"
    "      else r = redis.call('HGET', key, 'st') end\n"
    "      if not r and nk == '2' and redis.call('EXISTS', KEYS[k - 1]) == 1 then\n"
    "        redis.call('RENAME', KEYS[k - 1], key)\n"
    "        if cf == 'c' then r = redis.call('HMGET', key, 'st', 'e:' .. id); r, e = r[1], r[2]\n"
    "        else r = redis.call('HGET', key, 'st') end\n"
    "      end\n"
    "      c = {}\n"
    "      if r then\n"
    "        c.st = {sunpack(SF, r)}\n"
    "        if e then c.e = {[id] = e} end\n"
    "      end\n"
    "      cache[key] = c\n"
    "      order[#order + 1] = key\n"
    "    elseif cf == 'c' and c.st and not c.fresh and not (c.e and c.e[id]) then\n"
    "      local v = redis.call('HGET', key, 'e:' .. id)\n"
    "      if v then c.e = c.e or {}; c.e[id] = v end\n"
    "    end\n"
    "    if cf == 'c' and c.e then m = c.e[id] end\n"
    "    if m then\n"
    "      out[no] = env .. ',\"visit\":' .. m .. '}'\n"
    "    else\n"
    "      -- st: s, mr, mn, mx, pv, it, pe, id, start, en, ex\n"
    "      local st, n = c.st, 0\n"
    "      if not st or rcv - st[2] > timeout then\n"
    "        if st and not c.fresh then redis.call('DEL', key) end\n"
    "        st = {0, rcv, ts, ts, 0, 0, rcv, id, fmt('%d', ts), '', ''}\n"
    "        c.st, c.e, c.new, c.fresh, c.ttl, n = st, nil, nil, true, true, 1\n"
    "      elseif rcv > st[2] then\n"
    "        st[2] = rcv\n"
    "      end\n"
    "      local pv0, it0, en, ex = st[5], st[6], st[10], st[11]\n"
    "      local d0 = st[4] - st[3]\n"
    "      local s = st[1] + 1\n"
    "      st[1] = s\n"
    "      if ts < st[3] then st[3] = ts end\n"
    "      if ts > st[4] then st[4] = ts end\n"
    "      local pv, it, enf, xn, xo = pv0, it0, 0, 0, nil\n"
    "      if cl == 'p' then\n"
    "        if pv < 2 then pv = pv + 1 end\n"
    "        local path = ARGV[a + 3]\n"
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
    "      st[5], st[6], st[10], st[11] = pv, it, en, ex\n"
    "      local b0 = (pv0 == 1 and it0 == 0) and 1 or 0\n"
    "      local b1 = (pv == 1 and it == 0) and 1 or 0\n"
    "      local b = b1 - b0\n"
    "      local eb, xb = b, b\n"
    "      if enf == 1 then eb = b1 end\n"
    "      if xn == 1 then xb = b1 elseif ex == '' then xb = 0 end\n"
    "      local d = st[4] - st[3] - d0\n"
    "      local E, X, O = ',\"en\":0', '', ''\n"
    "      if en ~= '' and (enf == 1 or eb ~= 0) then\n"
    "        E = ',\"e\":\"' .. en .. '\",\"en\":' .. I[enf] .. ',\"eb\":' .. I[eb]\n"
    "      end\n"
    "      if ex ~= '' and (xn == 1 or xb ~= 0) then X = ',\"x\":\"' .. ex .. '\"' end\n"
    "      if xo then O = ',\"xo\":\"' .. xo .. '\",\"xob\":' .. I[b0] end\n"
    "      if cf == 'c' then\n"
    "        m = '{\"id\":\"' .. st[8] .. '\",\"s\":' .. (I[s] or fmt('%d', s)) .. ',\"start\":' "
    ".. st[9] ..\n"
    "            ',\"n\":' .. I[n] .. ',\"b\":' .. I[b] .. ',\"d\":' .. (I[d] or fmt('%d', d)) ..\n"
    "            E .. X .. ',\"xn\":' .. I[xn] .. ',\"xb\":' .. I[xb] .. O .. '}'\n"
    "        c.e = c.e or {}\n"
    "        c.e[id] = m\n"
    "        c.new = c.new or {}\n"
    "        c.new[#c.new + 1] = id\n"
    "        out[no] = env .. ',\"visit\":' .. m .. '}'\n"
    "      else\n"
    "        out[no] = env .. ',\"visit\":{\"id\":\"' .. st[8] .. '\",\"s\":' .. (I[s] or "
    "fmt('%d', s)) ..\n"
    "            ',\"start\":' .. st[9] .. ',\"n\":' .. I[n] .. ',\"b\":' .. I[b] .. ',\"d\":' ..\n"
    "            (I[d] or fmt('%d', d)) .. E .. X .. ',\"xn\":' .. I[xn] .. ',\"xb\":' .. I[xb] .. "
    "O .. '}}'\n"
    "      end\n"
    "      if rcv - st[7] >= refresh then st[7] = rcv; c.ttl = true end\n"
    "      c.dirty = true\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for _, key in ipairs(order) do\n"
    "  local c = cache[key]\n"
    "  if c.dirty then\n"
    "    local st = c.st\n"
    "    local v = spack(SF, st[1], st[2], st[3], st[4], st[5], st[6], st[7], st[8], st[9], "
    "st[10], st[11])\n"
    "    if c.new then\n"
    "      local w = {key, 'st', v}\n"
    "      for _, id in ipairs(c.new) do w[#w + 1] = 'e:' .. id; w[#w + 1] = c.e[id] end\n"
    "      redis.call('HSET', unpack(w))\n"
    "    else\n"
    "      redis.call('HSET', key, 'st', v)\n"
    "    end\n"
    "    if c.ttl then redis.call('PEXPIRE', key, ttl) end\n"
    "  end\n"
    "end\n"
    "redis.call('LPUSH', KEYS[1], unpack(out))\n"
    "return no\n";

/* Arguments of the script per envelope, and before the first. */
#define PER_ITEM 4
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

/* v as a little-endian IEEE 754 double at p (struct.unpack's '<d'). */
static void
put_double_le(char *p, double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 8; i++) {
        p[i] = (char)(u >> (8 * i));
    }
}

/* The first n bytes of s escaped for JSON into the text at *at, made the next argument. */
static void
arg_escaped(struct visits_cmd *c, size_t *at, const char *s, size_t n)
{
    size_t len = envelope_escape(s, n, c->text + *at);

    arg(c, c->text + *at, len);
    *at += len + 1;
}

/* The bytes of an item's head (script above). */
#define HEAD_LEN 19

int
visits_cmd_build(struct visits_cmd *c, const char *shard_key, const char *sha, long timeout_s,
                 const struct visits_item *items, size_t n)
{
    size_t keys = 1, room = 3 * 24, at = 0, argc;

    for (size_t i = 0; i < n; i++) {
        const struct event *ev = items[i].ev;
        int k = keys_of(&items[i]);
        keys += (size_t)k;
        if (k > 0) {
            room += HEAD_LEN + 3 + ENVELOPE_ESCAPED_MAX(strlen(ev->id)) +
                    ENVELOPE_ESCAPED_MAX(ev->path != NULL ? event_path_len(ev->path) : 0) +
                    key_room(shard_key, ev, ev->user_id);
        }
        if (k > 1) {
            room += key_room(shard_key, ev, items[i].prev_user);
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
        if (k == 0) {
            arg(c, "0", 1);
            arg(c, it->envelope, it->len);
            arg(c, "", 0);
            arg(c, "", 0);
            continue;
        }
        char *head = c->text + at, class = visits_class(ev->event_type);
        head[0] = k == 1 ? '1' : '2';
        head[1] = class;
        head[2] = ev->client_id != NULL ? 'c' : '-';
        put_double_le(head + 3, (double)ev->ts_ms);
        put_double_le(head + 11, (double)ev->received_ms);
        arg(c, head, HEAD_LEN);
        at += HEAD_LEN;
        arg(c, it->envelope, it->len - 1); /* without its final '}' */
        arg_escaped(c, &at, ev->id, strlen(ev->id));
        if (class == 'p' && ev->path != NULL) {
            arg_escaped(c, &at, ev->path, event_path_len(ev->path));
        } else {
            arg(c, "", 0);
        }
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
