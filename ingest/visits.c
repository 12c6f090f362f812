/* visits.c - each event's visit, assigned by the script that pushes it (visits.h). */
#include "visits.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The push script. KEYS[1] is the shard's list, then each visitor's state key (and a hashed
 * visitor's key under yesterday's id); ARGV[1] the timeout and ARGV[2] the state's TTL, in ms;
 * then 8 arguments per envelope (visits_cmd_build()). A state is a hash: `st`, the visit as a
 * MessagePack array (id and paths already escaped for JSON as envelope_encode() escapes
 * strings: '"', '\' and control characters; start as the text ingest sent; the numbers as
 * integers; `pe`, the arrival at which the TTL was last set), and `e:<_id>` for each event
 * sent with a client event_id. Each key is read once per call and written once at its end;
 * the TTL is set again only once half the margin has passed since it last was, so a state
 * lives at least VISIT_TIMEOUT_S + VISITS_MARGIN_S / 2 after its visit's last event. Small
 * numbers come from a table and the others from %d: Lua's tostring() would write 15-digit
 * times in exponent form. (Measured in instructions per event inside Redis with callgrind,
 * docs/benchmarks.md part 13: each redis.call, string.format and table costs thousands.) */
static const char script[] =
    "local timeout, ttl = tonumber(ARGV[1]), ARGV[2]\n"
    "local refresh = (tonumber(ttl) - timeout) / 2\n"
    "local find, gsub, fmt, sub = string.find, string.gsub, string.format, string.sub\n"
    "local pack, unpackmp = cmsgpack.pack, cmsgpack.unpack\n"
    "local special = '[%z\\1-\\31\"\\\\]'\n"
    "local function esc1(c)\n"
    "  if c == '\"' or c == '\\\\' then return '\\\\' .. c end\n"
    "  return fmt('\\\\u%04x', string.byte(c))\n"
    "end\n"
    "local function esc(s)\n"
    "  if not find(s, special) then return s end\n"
    "  return (gsub(s, special, esc1))\n"
    "end\n"
    "local I = {[-1] = '-1', [0] = '0', [1] = '1'}\n"
    "local cache, order = {}, {}\n"
    "local out, k = {}, 2\n"
    "for a = 3, #ARGV, 8 do\n"
    "  local nk, env = ARGV[a], ARGV[a + 1]\n"
    "  if nk == '0' then\n"
    "    out[#out + 1] = env\n"
    "  else\n"
    "    local key, m = KEYS[k], false\n"
    "    local c, cid = cache[key], ARGV[a + 7]\n"
    "    if c == nil then\n"
    "      if nk == '2' and redis.call('EXISTS', key) == 0 and redis.call('EXISTS', KEYS[k + 1]) "
    "== 1 then\n"
    "        redis.call('RENAME', KEYS[k + 1], key)\n"
    "      end\n"
    "      local r\n"
    "      if cid ~= '' then r = redis.call('HMGET', key, 'st', 'e:' .. cid)\n"
    "      else r = {redis.call('HGET', key, 'st')} end\n"
    "      c = {}\n"
    "      if r[1] then\n"
    "        c.st = {unpackmp(r[1])}\n"
    "        if r[2] then c.e = {[cid] = r[2]} end\n"
    "      end\n"
    "      cache[key] = c\n"
    "      order[#order + 1] = key\n"
    "    elseif cid ~= '' and c.st and not c.fresh and not (c.e and c.e[cid]) then\n"
    "      local v = redis.call('HGET', key, 'e:' .. cid)\n"
    "      if v then c.e = c.e or {}; c.e[cid] = v end\n"
    "    end\n"
    "    if nk == '2' then k = k + 2 else k = k + 1 end\n"
    "    if cid ~= '' and c.e then m = c.e[cid] end\n"
    "    if not m then\n"
    "      local ts, rcv, cl = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), ARGV[a + 5]\n"
    "      -- st: id (escaped), start (text), s, mr, mn, mx, pv, it, en, ex (escaped), pe\n"
    "      local st, n = c.st, 0\n"
    "      if not st or rcv - st[4] > timeout then\n"
    "        if st and not c.fresh then redis.call('DEL', key) end\n"
    "        st = {esc(ARGV[a + 2]), ARGV[a + 3], 0, rcv, ts, ts, 0, 0, '', '', rcv}\n"
    "        c.st, c.e, c.new, c.fresh, c.ttl, n = st, nil, nil, true, true, 1\n"
    "      elseif rcv > st[4] then\n"
    "        st[4] = rcv\n"
    "      end\n"
    "      local pv0, it0, en, ex = st[7], st[8], st[9], st[10]\n"
    "      local d0 = st[6] - st[5]\n"
    "      local s = st[3] + 1\n"
    "      st[3] = s\n"
    "      if ts < st[5] then st[5] = ts end\n"
    "      if ts > st[6] then st[6] = ts end\n"
    "      local pv, it, enf, xn, xo = pv0, it0, 0, 0, nil\n"
    "      if cl == 'p' then\n"
    "        if pv < 2 then pv = pv + 1 end\n"
    "        local path = ARGV[a + 6]\n"
    "        if path ~= '' then\n"
    "          path = esc(path)\n"
    "          if en == '' then en, enf = path, 1 end\n"
    "          if ex ~= path then\n"
    "            if ex ~= '' then xo = ex end\n"
    "            ex, xn = path, 1\n"
    "          end\n"
    "        end\n"
    "      elseif cl == 'i' then\n"
    "        it = 1\n"
    "      end\n"
    "      st[7], st[8], st[9], st[10] = pv, it, en, ex\n"
    "      local b0 = (pv0 == 1 and it0 == 0) and 1 or 0\n"
    "      local b1 = (pv == 1 and it == 0) and 1 or 0\n"
    "      local b = b1 - b0\n"
    "      local eb, xb = b, b\n"
    "      if enf == 1 then eb = b1 end\n"
    "      if xn == 1 then xb = b1 elseif ex == '' then xb = 0 end\n"
    "      local d = st[6] - st[5] - d0\n"
    "      local E, X, O = ',\"en\":0', '', ''\n"
    "      if en ~= '' and (enf == 1 or eb ~= 0) then\n"
    "        E = ',\"e\":\"' .. en .. '\",\"en\":' .. I[enf] .. ',\"eb\":' .. I[eb]\n"
    "      end\n"
    "      if ex ~= '' and (xn == 1 or xb ~= 0) then X = ',\"x\":\"' .. ex .. '\"' end\n"
    "      if xo then O = ',\"xo\":\"' .. xo .. '\",\"xob\":' .. I[b0] end\n"
    "      m = '{\"id\":\"' .. st[1] .. '\",\"s\":' .. (I[s] or fmt('%d', s)) .. ',\"start\":' .. "
    "st[2] ..\n"
    "          ',\"n\":' .. I[n] .. ',\"b\":' .. I[b] .. ',\"d\":' .. (d == 0 and '0' or fmt('%d', "
    "d)) ..\n"
    "          E .. X .. ',\"xn\":' .. I[xn] .. ',\"xb\":' .. I[xb] .. O .. '}'\n"
    "      if cid ~= '' then\n"
    "        c.e = c.e or {}\n"
    "        c.e[cid] = m\n"
    "        c.new = c.new or {}\n"
    "        c.new[#c.new + 1] = cid\n"
    "      end\n"
    "      if rcv - st[11] >= refresh then st[11] = rcv; c.ttl = true end\n"
    "      c.dirty = true\n"
    "    end\n"
    "    out[#out + 1] = sub(env, 1, -2) .. ',\"visit\":' .. m .. '}'\n"
    "  end\n"
    "end\n"
    "for _, key in ipairs(order) do\n"
    "  local c = cache[key]\n"
    "  if c.dirty then\n"
    "    if c.new then\n"
    "      local w = {key, 'st', pack(unpack(c.st))}\n"
    "      for _, cid in ipairs(c.new) do w[#w + 1] = 'e:' .. cid; w[#w + 1] = c.e[cid] end\n"
    "      redis.call('HSET', unpack(w))\n"
    "    else\n"
    "      redis.call('HSET', key, 'st', pack(unpack(c.st)))\n"
    "    end\n"
    "    if c.ttl then redis.call('PEXPIRE', key, ttl) end\n"
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
