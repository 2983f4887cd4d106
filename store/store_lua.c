/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's Lua scripts, loaded with SCRIPT LOAD on every connect and run with EVALSHA (EVAL
 * once after NOSCRIPT). Each script that writes makes all of its checks before its first write,
 * so it either fails before changing anything or runs to the end: Redis does not roll back a
 * script, and with noeviction only the first write of a script can be refused for OOM.
 * Key and argument layouts are documented above each script; store_ops.c builds them.
 */
#include "store_int.h"

/* KEYS: sess [, dedupe]. Returns {v or "0", s or "", seen 0/1}. */
static const char lua_load[] = "local h = redis.call('HMGET', KEYS[1], 'v', 's')\n"
                               "local seen = 0\n"
                               "if #KEYS > 1 then seen = redis.call('EXISTS', KEYS[2]) end\n"
                               "return {h[1] or '0', h[2] or '', seen}\n";

/* KEYS: sess, dedupe, expiry, events, outbox.
 * ARGV: expected_version, mode (keep|set|clear), session, session_ttl_s, expires_at_ms,
 *       expiry member, dedupe_ttl_s, n_events, n_replies, events..., replies...
 * Returns {"dup"|"conflict"|"ok", version}. */
static const char lua_commit[] =
    "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {'dup', v} end\n"
    "local expected = tonumber(ARGV[1])\n"
    "if expected >= 0 and expected ~= v then return {'conflict', v} end\n"
    "local mode = ARGV[2]\n"
    "if mode == 'set' then\n"
    "  v = v + 1\n"
    "  redis.call('HSET', KEYS[1], 'v', v, 's', ARGV[3])\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
    "  if ARGV[5] ~= '0' then\n"
    "    redis.call('HSET', KEYS[1], 'x', ARGV[5])\n"
    "    redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])\n"
    "  else\n"
    "    redis.call('HDEL', KEYS[1], 'x')\n"
    "    redis.call('ZREM', KEYS[3], ARGV[6])\n"
    "  end\n"
    "elseif mode == 'clear' then\n"
    "  v = v + 1\n"
    "  redis.call('HSET', KEYS[1], 'v', v, 's', '')\n"
    "  redis.call('HDEL', KEYS[1], 'x')\n"
    "  if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end\n"
    "  redis.call('ZREM', KEYS[3], ARGV[6])\n"
    "end\n"
    "local ne = tonumber(ARGV[8])\n"
    "local nr = tonumber(ARGV[9])\n"
    "for i = 1, ne do redis.call('XADD', KEYS[4], '*', 'e', ARGV[9 + i]) end\n"
    "for i = 1, nr do redis.call('XADD', KEYS[5], '*', 'r', ARGV[9 + ne + i]) end\n"
    "redis.call('SET', KEYS[2], '1', 'EX', ARGV[7])\n"
    "return {'ok', v}\n";

/* KEYS: expiry. ARGV: now_ms, now_ms + lease_ms, max, session key prefix ("<p>sess:").
 * Returns a flat array of {member, expires_at_ms, v, s} for each claimed session; members whose
 * session is gone or cleared are removed from the index. */
static const char lua_claim[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', "
    "0, tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for i = 1, #due, 2 do\n"
    "  local m = due[i]\n"
    "  local sep = string.find(m, '\\31', 1, true)\n"
    "  local h = false\n"
    "  if sep then\n"
    "    local key = ARGV[4] .. string.sub(m, 1, sep - 1) .. ':' .. string.sub(m, sep + 1)\n"
    "    h = redis.call('HMGET', key, 'v', 's', 'x')\n"
    "  end\n"
    "  if h and h[1] and h[2] and h[2] ~= '' then\n"
    "    redis.call('ZADD', KEYS[1], ARGV[2], m)\n"
    "    out[#out + 1] = m\n"
    "    out[#out + 1] = h[3] or due[i + 1]\n"
    "    out[#out + 1] = h[1]\n"
    "    out[#out + 1] = h[2]\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], m)\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: sent marker, outbox, events. ARGV: sent 0/1, dedupe_ttl_s, entry id, has_event 0/1,
 * event. XACK first: when the entry was already acked, its outcome event was already written
 * (same script), so a repeated done writes nothing but the marker. Returns the XACK count. */
static const char lua_done[] =
    "local acked = redis.call('XACK', KEYS[2], 'sender', ARGV[3])\n"
    "if ARGV[1] == '1' then redis.call('SET', KEYS[1], '1', 'EX', ARGV[2]) end\n"
    "if acked == 1 and ARGV[4] == '1' then redis.call('XADD', KEYS[3], '*', 'e', ARGV[5]) end\n"
    "return acked\n";

/* KEYS: outbox, events. Returns {outbox len, pending, lag, events len, pending, lag}; a missing
 * stream or group counts as zeros, an unknown lag (nil in XINFO) as 0. */
static const char lua_backlog[] =
    "local function one(stream, group)\n"
    "  if redis.call('EXISTS', stream) == 0 then return 0, 0, 0 end\n"
    "  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', stream)\n"
    "  if not ok then return 0, 0, 0 end\n"
    "  local len = redis.call('XLEN', stream)\n"
    "  for _, g in ipairs(groups) do\n"
    "    local t = {}\n"
    "    for i = 1, #g, 2 do t[g[i]] = g[i + 1] end\n"
    "    if t['name'] == group then return len, t['pending'] or 0, t['lag'] or 0 end\n"
    "  end\n"
    "  return len, 0, 0\n"
    "end\n"
    "local a, b, c = one(KEYS[1], 'sender')\n"
    "local d, e, f = one(KEYS[2], 'writer')\n"
    "return {a, b, c, d, e, f}\n";

const char *const store_lua_src[STORE_LUA__COUNT] = {
    [STORE_LUA_LOAD] = lua_load, [STORE_LUA_COMMIT] = lua_commit,   [STORE_LUA_CLAIM] = lua_claim,
    [STORE_LUA_DONE] = lua_done, [STORE_LUA_BACKLOG] = lua_backlog,
};
