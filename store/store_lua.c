/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's Lua scripts, loaded with SCRIPT LOAD on every connect and run with EVALSHA (EVAL
 * once after NOSCRIPT). Each script that writes makes all of its checks before its first write,
 * so it either fails before changing anything or runs to the end: Redis does not roll back a
 * script, and with noeviction only the first write of a script can be refused for OOM.
 * Key and argument layouts are documented above each script; store_ops.c builds them.
 */
#include "store_int.h"

/* KEYS: sess [, dedupe or "" [, rate]]. Returns {v or "0", s or "", seen 0/1, rate count,
 * rate notice sent 0/1}. */
static const char lua_load[] =
    "local h = redis.call('HMGET', KEYS[1], 'v', 's')\n"
    "local seen = 0\n"
    "if #KEYS > 1 and KEYS[2] ~= '' then seen = redis.call('EXISTS', KEYS[2]) end\n"
    "local r = {false, false}\n"
    "if #KEYS > 2 then r = redis.call('HMGET', KEYS[3], 'n', 't') end\n"
    "return {h[1] or '0', h[2] or '', seen, r[1] or '0', r[2] or '0'}\n";

/* KEYS: sess, dedupe, expiry, events, outbox [, complaint, open:<unit>, sla, scrub] [, rate]
 * ARGV: expected_version, mode (keep|set|clear), session, session_ttl_s, expires_at_ms,
 *       expiry member, dedupe_ttl_s, n_events, n_replies, n_feed, feed channel,
 *       complaint expected_version, record, open 0/1, due_first_response, due_resolution, ticket,
 *       number_retention_ms, rate mode (none|count|limited), rate ttl, events..., replies...,
 *       feed...
 * The rate key is the last key when the rate mode is not "none": the message is counted in the
 * window (HINCRBY n); "limited" also marks the window's notice (HSETNX t) and drops the replies
 * when it was already marked, so a window gets exactly one slow-down notice.
 * The complaint part is used when there are 9 keys besides the rate key: its version check
 * (0 = must not exist) comes before any write like the session's. A closed complaint expires after
 * session_ttl_s, any other state is persistent. A resolved or closed one is (re)scheduled in scrub
 * for resolved_at + number_retention_ms, when its raw number is removed (store_complaint_scrub);
 * reopened, it leaves scrub again. Feed items are PUBLISHed after every write.
 * Returns {"dup"|"conflict"|"ok", session version}. */
static const char lua_commit[] =
    "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {'dup', v} end\n"
    "local expected = tonumber(ARGV[1])\n"
    "if expected >= 0 and expected ~= v then return {'conflict', v} end\n"
    "local rmode = ARGV[19]\n"
    "local rk = nil\n"
    "if rmode ~= 'none' then rk = KEYS[#KEYS] end\n"
    "local hasc = #KEYS - (rk and 1 or 0) == 9\n"
    "local cv = 0\n"
    "if hasc then\n"
    "  cv = tonumber(redis.call('HGET', KEYS[6], 'v') or '0')\n"
    "  if cv ~= tonumber(ARGV[12]) then return {'conflict', v} end\n"
    "end\n"
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
    "if hasc then\n"
    "  redis.call('HSET', KEYS[6], 'v', cv + 1, 's', ARGV[13])\n"
    "  local ok, rec = pcall(cjson.decode, ARGV[13])\n"
    "  if not ok or type(rec) ~= 'table' then rec = {} end\n"
    "  if rec['state'] == 'closed' then\n"
    "    redis.call('EXPIRE', KEYS[6], ARGV[4])\n"
    "  else\n"
    "    redis.call('PERSIST', KEYS[6])\n"
    "  end\n"
    "  local ra = rec['resolved_at']\n"
    "  if (rec['state'] == 'resolved' or rec['state'] == 'closed') and type(ra) == 'number' then\n"
    "    redis.call('ZADD', KEYS[9], string.format('%.0f', ra + tonumber(ARGV[18])), ARGV[17])\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[9], ARGV[17])\n"
    "  end\n"
    "  if ARGV[14] == '1' then redis.call('SADD', KEYS[7], ARGV[17])\n"
    "  else redis.call('SREM', KEYS[7], ARGV[17]) end\n"
    "  local kinds = {{'first_response', ARGV[15]}, {'resolution', ARGV[16]}}\n"
    "  for _, k in ipairs(kinds) do\n"
    "    local m = ARGV[17] .. '\\31' .. k[1]\n"
    "    if k[2] ~= '0' then redis.call('ZADD', KEYS[8], k[2], m)\n"
    "    else redis.call('ZREM', KEYS[8], m) end\n"
    "  end\n"
    "end\n"
    "local ne = tonumber(ARGV[8])\n"
    "local nr = tonumber(ARGV[9])\n"
    "local nf = tonumber(ARGV[10])\n"
    "local nsend = nr\n"
    "if rk then\n"
    "  redis.call('HINCRBY', rk, 'n', 1)\n"
    "  if rmode == 'limited' and redis.call('HSETNX', rk, 't', 1) == 0 then nsend = 0 end\n"
    "  redis.call('EXPIRE', rk, ARGV[20])\n"
    "end\n"
    "local h = 20\n"
    "for i = 1, ne do redis.call('XADD', KEYS[4], '*', 'e', ARGV[h + i]) end\n"
    "for i = 1, nsend do redis.call('XADD', KEYS[5], '*', 'r', ARGV[h + ne + i]) end\n"
    "redis.call('SET', KEYS[2], '1', 'EX', ARGV[7])\n"
    "for i = 1, nf do redis.call('PUBLISH', ARGV[11], ARGV[h + ne + nr + i]) end\n"
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

/* KEYS: complaint, open:<unit>. ARGV: has ticket 0/1, has unit 0/1, complaint key prefix
 * ("<p>complaint:"), max listed. Returns {v or "0", s or "", open records...}: the open tickets
 * sorted by ticket, the first max of them whose record exists. Reads only. */
static const char lua_complaint[] = "local out = {'0', ''}\n"
                                    "if ARGV[1] == '1' then\n"
                                    "  local h = redis.call('HMGET', KEYS[1], 'v', 's')\n"
                                    "  out[1] = h[1] or '0'\n"
                                    "  out[2] = h[2] or ''\n"
                                    "end\n"
                                    "if ARGV[2] == '1' then\n"
                                    "  local t = redis.call('SMEMBERS', KEYS[2])\n"
                                    "  table.sort(t)\n"
                                    "  local max = tonumber(ARGV[4])\n"
                                    "  for _, id in ipairs(t) do\n"
                                    "    if #out - 2 >= max then break end\n"
                                    "    local rec = redis.call('HGET', ARGV[3] .. id, 's')\n"
                                    "    if rec then out[#out + 1] = rec end\n"
                                    "  end\n"
                                    "end\n"
                                    "return out\n";

/* KEYS: sla. ARGV: now_ms, now_ms + lease_ms, max, complaint key prefix ("<p>complaint:").
 * Returns a flat array of {ticket, kind, due, v, s} per claimed timer; due is the record's
 * "due_<kind>" (the score before leasing moved it) or the score. Timers whose complaint is gone
 * are removed. */
static const char lua_claim_sla[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', "
    "0, tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for i = 1, #due, 2 do\n"
    "  local m = due[i]\n"
    "  local sep = string.find(m, '\\31', 1, true)\n"
    "  local h = false\n"
    "  if sep then h = redis.call('HMGET', ARGV[4] .. string.sub(m, 1, sep - 1), 'v', 's') end\n"
    "  if h and h[1] and h[2] and h[2] ~= '' then\n"
    "    local kind = string.sub(m, sep + 1)\n"
    "    local d = due[i + 1]\n"
    "    local ok, rec = pcall(cjson.decode, h[2])\n"
    "    if ok and type(rec) == 'table' and type(rec['due_' .. kind]) == 'number' then\n"
    "      d = string.format('%.0f', rec['due_' .. kind])\n"
    "    end\n"
    "    redis.call('ZADD', KEYS[1], ARGV[2], m)\n"
    "    out[#out + 1] = string.sub(m, 1, sep - 1)\n"
    "    out[#out + 1] = kind\n"
    "    out[#out + 1] = d\n"
    "    out[#out + 1] = h[1]\n"
    "    out[#out + 1] = h[2]\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], m)\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: scrub. ARGV: now_ms, now_ms + lease_ms, max, complaint key prefix ("<p>complaint:").
 * Returns a flat array of {ticket, v, s} per claimed record (its score moved to the lease end);
 * members whose record is gone are removed. */
static const char lua_claim_scrub[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, "
    "tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for _, t in ipairs(due) do\n"
    "  local h = redis.call('HMGET', ARGV[4] .. t, 'v', 's')\n"
    "  if h[1] and h[2] and h[2] ~= '' then\n"
    "    redis.call('ZADD', KEYS[1], ARGV[2], t)\n"
    "    out[#out + 1] = t\n"
    "    out[#out + 1] = h[1]\n"
    "    out[#out + 1] = h[2]\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], t)\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: complaint, scrub. ARGV: expected version, new record ("" = unchanged), ticket,
 * record_ttl_s (0 = keep the TTL and the scrub schedule: a purge of a still open complaint).
 * Returns 1 if applied, 0 if the version moved on (nothing written). */
static const char lua_forget[] =
    "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')\n"
    "if v == 0 or v ~= tonumber(ARGV[1]) then return 0 end\n"
    "if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[2]) end\n"
    "local ttl = tonumber(ARGV[4])\n"
    "if ttl > 0 then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[3])\n"
    "  local left = redis.call('TTL', KEYS[1])\n"
    "  if left < 0 or left > ttl then redis.call('EXPIRE', KEYS[1], ttl) end\n"
    "end\n"
    "return 1\n";

/* KEYS: sent marker, outbox, events, lease, sending mark [, dead letter]. ARGV: sent 0/1,
 * dedupe_ttl_s, entry id, has_event 0/1, event [, reply JSON, reason, at_ms]. XACK first: when
 * the entry was already acked, its outcome event was already written (same script), so a
 * repeated done writes nothing but the marker. The entry is deleted with its acknowledgement, so
 * the outbox holds only replies still to send; with a dead-letter key the reply is copied to the
 * dead-letter stream in the same step. The lease and the sending mark go with the entry.
 * Returns the XACK count. */
static const char lua_done[] =
    "local acked = redis.call('XACK', KEYS[2], 'sender', ARGV[3])\n"
    "if acked == 1 then redis.call('XDEL', KEYS[2], ARGV[3]) end\n"
    "if ARGV[1] == '1' then redis.call('SET', KEYS[1], '1', 'EX', ARGV[2]) end\n"
    "if acked == 1 and ARGV[4] == '1' then redis.call('XADD', KEYS[3], '*', 'e', ARGV[5]) end\n"
    "if acked == 1 and #KEYS > 5 then\n"
    "  redis.call('XADD', KEYS[6], '*', 'r', ARGV[6], 'from', ARGV[3], 'why', ARGV[7], 'at',\n"
    "             ARGV[8])\n"
    "end\n"
    "redis.call('DEL', KEYS[4], KEYS[5])\n"
    "return acked\n";

/* KEYS: lease, sending mark, sent marker, outbox. ARGV: owner, lease_ms, entry id, mode
 * ("a" acquire, "r" renew, "s" before a send: also sets the sending mark, "c" after a sure
 * non-delivery: clears it), consumer, sending_ttl_s. The entry must still be in the outbox and
 * its lease free, expired or the owner's; then the lease is (re)set and the entry claimed for the
 * consumer in the group (resetting its idle time, so nobody's XAUTOCLAIM looks at it while the
 * lease is renewed). Returns {"gone"|"other"|"sent"|"ok", the sending mark's owner or ""}. */
static const char lua_lease[] =
    "if #redis.call('XRANGE', KEYS[4], ARGV[3], ARGV[3]) == 0 then return {'gone', ''} end\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur and cur ~= ARGV[1] then return {'other', ''} end\n"
    "local was = redis.call('GET', KEYS[2]) or ''\n"
    "local sent = redis.call('EXISTS', KEYS[3])\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.pcall('XCLAIM', KEYS[4], 'sender', ARGV[5], 0, ARGV[3], 'JUSTID')\n"
    "if sent == 1 then return {'sent', was} end\n"
    "if ARGV[4] == 's' then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[6])\n"
    "elseif ARGV[4] == 'c' then redis.call('DEL', KEYS[2]) end\n"
    "return {'ok', was}\n";

/* KEYS: dead letter, outbox. ARGV: dead entry id, reply JSON to queue again. Moves one
 * dead-lettered reply back to the outbox (a new entry) if it is still there. Returns the new
 * outbox entry id, or false. */
static const char lua_dead_retry[] =
    "if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end\n"
    "return redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])\n";

/* KEYS: outbox, events, dead letter. Returns {outbox len, pending, lag, events len, pending, lag,
 * dead letters}; a missing
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
    "return {a, b, c, d, e, f, redis.call('XLEN', KEYS[3])}\n";

const char *const store_lua_src[STORE_LUA__COUNT] = {
    [STORE_LUA_LOAD] = lua_load,
    [STORE_LUA_COMMIT] = lua_commit,
    [STORE_LUA_CLAIM] = lua_claim,
    [STORE_LUA_DONE] = lua_done,
    [STORE_LUA_BACKLOG] = lua_backlog,
    [STORE_LUA_COMPLAINT] = lua_complaint,
    [STORE_LUA_CLAIM_SLA] = lua_claim_sla,
    [STORE_LUA_CLAIM_SCRUB] = lua_claim_scrub,
    [STORE_LUA_FORGET] = lua_forget,
    [STORE_LUA_LEASE] = lua_lease,
    [STORE_LUA_DEAD_RETRY] = lua_dead_retry,
};
