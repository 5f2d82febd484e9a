"""The Lua scripts of the Redis backend: each operation is one script, atomic on the server, so nodes
racing for the last token or the last request of a quota never both get it.

Time is the server's (`TIME`), the one clock every node shares, unless the caller passes `now` (a test's
manual clock). Buckets and quotas take their limits as arguments on every call: a Redis that lost its
data (restarted without persistence) starts them over full instead of failing, and a reconfiguration
needs no write. A bucket that refills to full is deleted (an absent bucket is a full one), so idle
buckets cost Redis nothing.

Cache entries live under a generation of their namespace (`PREFIX:g`): a flush moves to the next one and
the old entries expire on their own. Per generation, a sorted set orders the entries (least recently used
first under a byte bound, oldest first under a count bound), a hash keeps their sizes and a counter their
total."""

from __future__ import annotations

_NOW = """
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

_SETTLE = """
-- a bucket's tokens at `now`: refilled at `rate` since its stamp, at most `burst`; absent = full
local function settle(key, rate, burst, now)
  local found = redis.call('HMGET', key, 't', 's')
  local tokens = tonumber(found[1])
  if tokens == nil then return burst end
  local elapsed = now - tonumber(found[2])
  if elapsed > 0 then tokens = tokens + elapsed * rate end
  if tokens > burst then tokens = burst end
  return tokens
end

local function store(key, tokens, rate, burst, now)
  if tokens >= burst then
    redis.call('DEL', key)
    return
  end
  -- numbers given to redis.call become strings of 14 digits: too few for a stamp in µs or a refill sum
  redis.call('HSET', key, 't', string.format('%.17g', tokens), 's', string.format('%.17g', now))
  if rate > 0 then redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + 1000) end
end
"""

# KEYS: buckets. ARGV: now, then rate and burst of each bucket. 1 when every bucket gave a token, else 0
# and nothing is written (settling a refused take changes no later answer).
TAKE = _NOW + _SETTLE + """
local now = clock(ARGV[1])
local tokens = {}
for i = 1, #KEYS do
  tokens[i] = settle(KEYS[i], tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]), now)
  if tokens[i] < 1 - 1e-9 then return 0 end
end
for i = 1, #KEYS do
  store(KEYS[i], tokens[i] - 1, tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]), now)
end
return 1
"""

# Batched mode. KEYS: buckets. ARGV: now, then rate, burst and the tokens a node used since its last
# synchronisation, for each bucket. Each bucket's tokens after the subtraction (below zero when the nodes
# together used more than there was: a debt the refill pays first), as strings (Lua numbers come back as
# integers otherwise).
SYNC_BUCKETS = _NOW + _SETTLE + """
local now = clock(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local rate, burst, used = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local tokens = settle(KEYS[i], rate, burst, now) - used
  if used ~= 0 then store(KEYS[i], tokens, rate, burst, now) end
  out[i] = string.format('%.17g', tokens)
end
return out
"""

# Quota counters: one hash per key, for its latest period (`p`): what is left (`l`) and the anchor (`a`) of
# the store's figure it came from. A period not seen before starts over with the whole limit; a take of a
# period already over (a node whose clock is behind) is admitted without counting.
_PERIOD = """
local function counter(key, limit, expiry, period)
  local found = redis.call('HMGET', key, 'l', 'p')
  if found[2] == period then return tonumber(found[1]) end
  if found[2] and found[2] > period then return nil end
  redis.call('HSET', key, 'l', limit, 'a', 0, 'p', period)
  redis.call('PEXPIRE', key, expiry)
  return tonumber(limit)
end
"""

# KEYS: the counter. ARGV: limit, expiry ms, period.
QUOTA_TAKE = _PERIOD + """
local left = counter(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if left == nil then return 1 end
if left <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'l', -1)
return 1
"""

# ARGV: left, anchor ('' replaces), expiry ms, period. With an anchor (a node's rebuild from the store): a
# newer anchor (an UpdateUsage the counter has not seen) replaces; the same one only lowers what is left,
# since the store lags behind the counts of every node not yet written.
QUOTA_SET = """
local left, anchor, period = tonumber(ARGV[1]), ARGV[2], ARGV[4]
local found = redis.call('HMGET', KEYS[1], 'l', 'a', 'p')
if found[3] and found[3] > period then return 0 end
if anchor == '' or found[3] ~= period or tonumber(anchor) > tonumber(found[2]) then
  redis.call('HSET', KEYS[1], 'l', left, 'p', period)
  if anchor ~= '' or found[3] ~= period then redis.call('HSET', KEYS[1], 'a', anchor == '' and 0 or anchor) end
elseif left < tonumber(found[1]) then
  redis.call('HSET', KEYS[1], 'l', left)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# Batched mode. KEYS: counters. ARGV: limit, used, expiry ms and period of each. What is left of each
# afterwards (0 for a period already over).
SYNC_QUOTAS = _PERIOD + """
local out = {}
for i = 1, #KEYS do
  local limit, used = ARGV[4 * i - 3], tonumber(ARGV[4 * i - 2])
  local left = counter(KEYS[i], limit, ARGV[4 * i - 1], ARGV[4 * i])
  if left == nil then
    left = 0
  elseif used ~= 0 then
    left = redis.call('HINCRBY', KEYS[i], 'l', -used)
  end
  out[i] = left
end
return out
"""

_SPACE = _NOW + """
local prefix = KEYS[1]
local base = prefix .. ':' .. (redis.call('GET', prefix .. ':g') or '0')
local order, sizes, used = base .. ':z', base .. ':s', base .. ':u'

local function drop(member)
  local size = redis.call('HGET', sizes, member)
  if size then
    redis.call('HDEL', sizes, member)
    redis.call('DECRBY', used, size)
  end
  redis.call('ZREM', order, member)
  redis.call('DEL', base .. ':e:' .. member)
end

local function evict_oldest()
  local oldest = redis.call('ZRANGE', order, 0, 0)
  if #oldest == 0 then return false end
  drop(oldest[1])
  return true
end
"""

# KEYS: the namespace's prefix. ARGV: the entry's key, now. The value, or nil when absent or expired.
CACHE_GET = _SPACE + """
local member = ARGV[1]
local found = redis.call('HMGET', base .. ':e:' .. member, 'v', 'x')
if not found[1] then return false end
if tonumber(found[2]) <= clock(ARGV[2]) then
  drop(member)
  return false
end
if redis.call('HEXISTS', prefix .. ':m', 'b') == 1 then  -- a byte bound: least recently used out first
  redis.call('ZADD', order, redis.call('INCR', base .. ':n'), member)
end
return found[1]
"""

# ARGV: key, value, ttl seconds, now, size (as the bounds count it). 1 when kept.
CACHE_PUT = _SPACE + """
local member, value, ttl, size = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local bounds = redis.call('HMGET', prefix .. ':m', 'b', 'n')
local max_bytes, max_entries = tonumber(bounds[1]), tonumber(bounds[2])
drop(member)  -- a renewed entry becomes the youngest
if max_bytes and size > max_bytes then return 0 end
if max_entries then
  while redis.call('ZCARD', order) >= max_entries and evict_oldest() do end
  if max_entries <= 0 then return 0 end
end
local entry = base .. ':e:' .. member
redis.call('HSET', entry, 'v', value, 'x', clock(ARGV[4]) + ttl)
redis.call('PEXPIRE', entry, math.ceil(ttl * 1000) + 1000)
redis.call('ZADD', order, redis.call('INCR', base .. ':n'), member)
redis.call('HSET', sizes, member, size)
local total = redis.call('INCRBY', used, size)
if max_bytes then
  while total > max_bytes and evict_oldest() do total = tonumber(redis.call('GET', used)) end
end
return 1
"""

# ARGV: max bytes, max entries ('' = none). New bounds start the namespace over (a new generation).
CACHE_CONFIGURE = """
local meta = KEYS[1] .. ':m'
local found = redis.call('HMGET', meta, 'b', 'n')
if (found[1] or '') == ARGV[1] and (found[2] or '') == ARGV[2] then return 0 end
redis.call('DEL', meta)
if ARGV[1] ~= '' then redis.call('HSET', meta, 'b', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', meta, 'n', ARGV[2]) end
redis.call('INCR', KEYS[1] .. ':g')
return 1
"""

CACHE_FLUSH = _SPACE + """
redis.call('DEL', order, sizes, used, base .. ':n')
redis.call('INCR', prefix .. ':g')
return 1
"""

CACHE_USAGE = _SPACE + """
return {redis.call('ZCARD', order), tonumber(redis.call('GET', used) or '0')}
"""

SCRIPTS = {"take": TAKE, "sync_buckets": SYNC_BUCKETS, "quota_take": QUOTA_TAKE, "quota_set": QUOTA_SET,
           "sync_quotas": SYNC_QUOTAS, "cache_get": CACHE_GET, "cache_put": CACHE_PUT,
           "cache_configure": CACHE_CONFIGURE, "cache_flush": CACHE_FLUSH, "cache_usage": CACHE_USAGE}
