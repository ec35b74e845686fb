#!lua name=untradex
-- The `untradex` Redis Function library: session claims, the batched event write, the exam close,
-- presence and the roster. Loaded by src/redis/function-library.ts (FUNCTION LOAD REPLACE).
--
-- VERSION: bump on any change to the functions' keys, arguments, replies or stored formats.
-- 3: the qidx hash. 4: ux_write checks every key and counter it writes before its first write (3
-- could fail half-written). 5: the roster and presence sets, the !submitted counter, ux_presence
-- and ux_roster. 6: presence as entries per session and one holder record per connection actor
-- (the `present` and `holders` hashes), so the AOF follows arrivals and departures, not time.
-- 7: ux_write_many, ux_write over several buckets in one call. The outcome numbers and channel
-- names are the TypeScript side's (WriteOutcome in src/events/answer-event.ts, bucket-keys.ts);
-- test/unit/redis/function-library-source checks them.
--
-- Stored formats (all fields and values are strings; numbers are canonical decimal integers):
--
-- seq hash, field `<student>`: `<epoch>,<lastSeq>,<submitSeq>,<submitServerTs>,<helloUs>,<events>,<lastEventTs>`
--   (src/redis/student-state.ts reads it; version 1 stored only the first four, still read)
--   epoch      the newest session claimed by ux_hello (0 before any hello)
--   lastSeq    the highest stored seq (0 if none)
--   submitSeq  the stored submit's seq, 0 if the student has not submitted
--   submitServerTs  the server time of that submit, empty when submitSeq is 0
--   helloUs    when the gateway received the hello of that session, µs since the epoch (empty: unknown)
--   events     how many events of the student are stored
--   lastEventTs  the server time of the last stored event, empty when none
-- seq hash, bucket fields (`!` cannot start a student id): `!students`, `!events`, `!submitted`
--   (students whose submit is stored; version 5, counted once per student by ux_write).
-- roster zset `ux:{<exam>:<bucket>}:roster` (version 5): every student of the bucket who claimed a
--   session or has a stored event, score 0, so the roster pages by name (ZRANGE BYLEX) at a cost in
--   proportion to the page.
-- present hash `ux:{<exam>:<bucket>}:present` (version 6), field `<student>`: `<epoch> <holder>`,
--   the live session of the student (its epoch) and the connection actor holding it. Written when
--   the session opens and removed when it closes, never refreshed.
-- holders hash `ux:{<exam>:<bucket>}:holders` (version 6), field `<holder>`: `<expiry> <serial>
--   <count>`: until when the holder (one connection actor's run) counts as alive, ms since the
--   epoch, the serial of its last ux_presence call, and how many `present` entries name it. A
--   student counts as connected while their entry's holder is alive: a holder that stops
--   refreshing (its process died) takes all its students with it, with one key written per
--   refresh instead of one per student.
-- closed key `ux:{<exam>:<bucket>}:closed`: exists once finalize closed the bucket. Purge and
--   retention never remove it, so an exported exam never opens again (docs/PROTOCOL.md section 4).
-- ans hash, field `<student>|<question>`: `<seq>,<clientTs>,<serverTs>,<value>`, clientTs empty
--   when null; the value comes last, so it may contain any byte, `,` and `|` included.
-- qidx hash (version 3), field `<student>`: the questions the student has an answer to, joined by
--   `,` in the order first answered (ids never hold a `,`). A resumed hello reads it and then only
--   that student's `ans` fields, so its cost follows the student's answers, not the bucket's size.
-- log stream entry: s student, q question, k kind (o|a|s), v value, seq, cts clientTs, sts serverTs.
--   q and v are empty for o and s; cts is empty when null. Every entry has the same seven fields,
--   which lets the stream's listpacks store the field names once.
--
-- Numbers never pass through Lua's tostring (it prints 14 significant digits, and seqs go up to
-- 2^53-1): the strings of ARGV are stored as given after a canonical-form check, and compared as
-- numbers, which doubles hold exactly up to 2^53.
--
-- ux_write checks every event of a call, every student state and every key and counter it will
-- write before it writes any, so a malformed field or a corrupt stored value rejects the whole call
-- with an error and stores nothing of it. The writer then isolates the event that fails
-- (actors/redis-writer/poison-isolation.ts) rather than retry the batch forever.

local VERSION = 7
-- Upper bounds as decimal strings: a canonical integer shorter than its bound is below it, so
-- only a number of the bound's length needs tonumber (which costs more than a pattern match).
local MAX_SEQ = '9007199254740991'
local MAX_TS = '253402300799999'
local CHANNEL_SESSIONS = 'ux:sessions'
local CHANNEL_CLOSED = 'ux:closed'
local FIELDS_PER_EVENT = 8
local MAX_EVENTS_PER_CALL = 100000

local STORED, DUPLICATE, EXAM_CLOSED, SUBMITTED, STALE_SESSION = 0, 1, 2, 3, 4

-- Globals such as string and redis.call do not exist while FUNCTION LOAD runs the library body,
-- so they are looked up inside the functions, at call time.

local function bad(what, i, value)
  local where = i > 0 and ('event ' .. i .. ' ') or ''
  return error({ err = 'UXBAD ' .. where .. what .. ': ' .. string.format('%q', tostring(value)):sub(1, 80) })
end

local function is_id(s)
  local len = #s
  return len >= 1 and len <= 64 and string.find(s, '^[A-Za-z0-9_%.%-]+$') ~= nil
end

-- A canonical decimal integer (digits, no sign, no leading zero) from 1 (0 if zero_ok) to max.
local function is_uint(s, max, zero_ok)
  local len, max_len = #s, #max
  if len == 0 or len > max_len then return false end
  if s == '0' then return zero_ok end
  if not string.find(s, '^[1-9]%d*$') then return false end
  return len < max_len or tonumber(s) <= tonumber(max)
end

-- Reads a student's state into a table of strings; a missing one (no session claimed, nothing
-- stored) comes back with 'missing' set. Version 1's four fields are still read.
local function read_state(seq_key, student)
  local packed = redis.call('HGET', seq_key, student)
  if not packed then return { e = '0', l = '0', s = '0', t = '', h = '', n = '0', x = '', missing = true } end
  local e, l, s, t, h, n, x = string.match(packed, '^(%d+),(%d+),(%d+),(%d*),(%d*),(%d+),(%d*)$')
  if e then return { e = e, l = l, s = s, t = t, h = h, n = n, x = x } end
  e, l, s, t = string.match(packed, '^(%d+),(%d+),(%d+),(%d*)$')
  if e then return { e = e, l = l, s = s, t = t, h = '', n = '0', x = '' } end
  return error({ err = 'UXCORRUPT student state of ' .. student .. ': ' .. packed })
end

local function pack_state(st)
  return st.e .. ',' .. st.l .. ',' .. st.s .. ',' .. st.t .. ',' .. st.h .. ',' .. st.n .. ',' .. st.x
end

-- Whether finalize closed the bucket. Version 1 kept the mark as a '!closed' field of the seq
-- hash, which purge removed with the hash: an exam closed under it is still read as closed.
local function is_closed(closed_key, seq_key)
  return redis.call('EXISTS', closed_key) == 1 or redis.call('HEXISTS', seq_key, '!closed') == 1
end

-- Compares two canonical decimal strings as numbers (both below 2^53, exact as doubles).
local function older(a, b)
  return tonumber(a) < tonumber(b)
end

-- Raises unless the key is missing or of the type the writes below need: a write command on a key
-- of another type fails with WRONGTYPE, after the writes before it could no longer be undone.
local function check_type(key, wanted)
  local actual = redis.call('TYPE', key)['ok']
  if actual ~= 'none' and actual ~= wanted then
    return error({ err = 'UXCORRUPT ' .. key .. ' is a ' .. actual .. ', not a ' .. wanted })
  end
end

-- Raises unless the bucket counter may take HINCRBY: a missing field, or a decimal integer in
-- the range the writes keep (HINCRBY refuses anything else, after the events were written).
local function check_counter(seq_key, field)
  local v = redis.call('HGET', seq_key, field)
  if v and not is_uint(v, MAX_SEQ, true) then
    return error({ err = 'UXCORRUPT counter ' .. field .. ' of ' .. seq_key .. ': ' .. string.format('%q', v):sub(1, 40) })
  end
end

-- KEYS: seq, closed, roster. ARGV: exam, student, helloUs (when the gateway received the hello, µs).
-- Claims a new session for the student, unless the live session's hello is newer than this one
-- (rule 7: a slow claim, or a retry's first attempt, never replaces a newer session).
-- Returns { epoch (0: refused, a newer session is live), lastSeq (a decimal string), submitted (0/1), closed (0/1) }.
local function ux_hello(keys, args)
  local seq_key, closed_key, roster_key, exam, student, hello_us = keys[1], keys[2], keys[3], args[1], args[2], args[3] or ''
  if roster_key == nil then return error({ err = 'UXBAD ux_hello needs 3 keys (seq, closed, roster)' }) end
  if not is_id(exam) then bad('exam', 0, exam) end
  if not is_id(student) then bad('student', 0, student) end
  if not is_uint(hello_us, MAX_SEQ, false) then bad('helloUs', 0, hello_us) end
  local st = read_state(seq_key, student)
  local closed = is_closed(closed_key, seq_key) and 1 or 0
  local submitted = st.s ~= '0' and 1 or 0
  -- lastSeq goes back as a string: it may be up to 2^53-1, and ioredis 6 decodes integer replies
  -- that close to 2^53 inexactly (its decoder computes number * 10 + byte - 48).
  if st.h ~= '' and older(hello_us, st.h) then return { 0, st.l, submitted, closed } end
  local epoch = string.format('%d', tonumber(st.e) + 1)
  -- A closed bucket whose data was purged or expired stays empty: the student gets 'closed' and
  -- every event 'exam_closed', and nothing of the exam grows back.
  if closed == 1 and st.missing then return { tonumber(epoch), st.l, submitted, closed } end
  check_type(roster_key, 'zset')
  st.e, st.h = epoch, hello_us
  redis.call('HSET', seq_key, student, pack_state(st))
  -- In the roster from the first session on, so a student who is connected but has stored nothing
  -- yet is listed too (docs/PROTOCOL.md section 4). On every claim, not only the first: a student whose
  -- state predates the roster (library version 4) joins it at their next hello.
  redis.call('ZADD', roster_key, 'NX', 0, student)
  -- A first session has nothing older to replace: announcing it only cost every actor of every
  -- gateway process a message per student in a start spike (600,000 for 100,000 students on six).
  if epoch ~= '1' then redis.call('PUBLISH', CHANNEL_SESSIONS, exam .. '\n' .. student .. '\n' .. epoch) end
  return { tonumber(epoch), st.l, submitted, closed }
end

-- Checks every event before anything is written. A batch holds few students, questions, epochs
-- and server times but many events, so a string already found valid in this call is looked up,
-- not matched again (one cache per kind of field: a valid id is not a valid number). `a` is where
-- the bucket's arguments start (its exam is args[a + 1], its count args[a + 2]).
local function check_events(args, a, n)
  local ok_id, ok_epoch, ok_ts = {}, {}, {}
  for i = 1, n do
    local b = a + 2 + (i - 1) * FIELDS_PER_EVENT
    local student, epoch, kind, question, value, cts, sts =
      args[b + 1], args[b + 2], args[b + 4], args[b + 5], args[b + 6], args[b + 7], args[b + 8]
    if not ok_id[student] then
      if not is_id(student) then bad('student', i, student) end
      ok_id[student] = true
    end
    if not ok_epoch[epoch] then
      if not is_uint(epoch, MAX_SEQ, false) then bad('epoch', i, epoch) end
      ok_epoch[epoch] = true
    end
    if not is_uint(args[b + 3], MAX_SEQ, false) then bad('seq', i, args[b + 3]) end
    if kind == 'a' then
      if not ok_id[question] then
        if not is_id(question) then bad('question', i, question) end
        ok_id[question] = true
      end
      if string.find(value, '\0', 1, true) then bad('value', i, 'contains NUL') end
    elseif kind == 'o' or kind == 's' then
      if question ~= '' or value ~= '' then bad('question/value of kind ' .. kind, i, question .. value) end
    else
      bad('kind', i, kind)
    end
    if cts ~= '' and not ok_ts[cts] then
      if not is_uint(cts, MAX_TS, true) then bad('clientTs', i, cts) end
      ok_ts[cts] = true
    end
    if not ok_ts[sts] then
      if not is_uint(sts, MAX_TS, true) then bad('serverTs', i, sts) end
      ok_ts[sts] = true
    end
  end
end

-- The first pass over one bucket's events: reads each student's state once, decides every
-- event's outcome, and runs every check that can fail (the events' fields, each student's stored
-- state, the type of every key and counter the writes touch). Writes nothing. `k` and `a` are
-- where the bucket's 6 keys and its arguments start. Returns the plan, and where the next
-- bucket's arguments start.
local function plan_bucket(keys, k, args, a)
  local log_key, ans_key, seq_key, closed_key, qidx_key, roster_key =
    keys[k + 1], keys[k + 2], keys[k + 3], keys[k + 4], keys[k + 5], keys[k + 6]
  if roster_key == nil then return error({ err = 'UXBAD ux_write needs 6 keys per bucket (log, ans, seq, closed, qidx, roster)' }) end
  if not is_id(args[a + 1] or '') then bad('exam', 0, args[a + 1]) end
  local n_s = args[a + 2] or ''
  if not is_uint(n_s, '999999', true) or tonumber(n_s) > MAX_EVENTS_PER_CALL then bad('count', 0, n_s) end
  local n = tonumber(n_s)
  if #args < a + 2 + n * FIELDS_PER_EVENT then bad('argument count', 0, #args) end
  check_events(args, a, n)

  -- Per-student state, loaded once per call, and each event's outcome. The tables follow the
  -- batch as if it were written, so a submit earlier in the call refuses later answers.
  local state, ep, last, dirty = {}, {}, {}, {}
  local closed = is_closed(closed_key, seq_key)
  local out = {}
  local stored, new_students, stored_answers, submits = 0, 0, false, 0
  -- Students whose first event is stored in this call: they join the roster when applied.
  local newcomers = {}
  for i = 1, n do
    local b = a + 2 + (i - 1) * FIELDS_PER_EVENT
    local student = args[b + 1]
    local st = state[student]
    if st == nil then
      st = read_state(seq_key, student)
      state[student], ep[student], last[student] = st, tonumber(st.e), tonumber(st.l)
    end
    local seq_s, epoch_s = args[b + 3], args[b + 2]
    local seq = tonumber(seq_s)
    local outcome
    -- A superseded session is told so before anything else: acking its resend as a duplicate
    -- would tell its client an event was kept that the newer session may have numbered otherwise.
    if epoch_s ~= st.e and tonumber(epoch_s) < ep[student] then
      outcome = STALE_SESSION
    elseif seq <= last[student] then
      outcome = DUPLICATE
    elseif closed then
      outcome = EXAM_CLOSED
    elseif st.s ~= '0' then
      outcome = SUBMITTED
    else
      local kind, sts = args[b + 4], args[b + 8]
      if kind == 'a' then
        stored_answers = true
      elseif kind == 's' then
        -- Once per student: after a stored submit every new event gets SUBMITTED above.
        st.s, st.t = seq_s, sts
        submits = submits + 1
      end
      if last[student] == 0 then
        new_students = new_students + 1
        newcomers[#newcomers + 1] = student
      end
      last[student], st.l = seq, seq_s
      st.n = string.format('%d', tonumber(st.n) + 1)
      st.x = sts
      -- An epoch above the stored one only happens after Redis lost the hello (no AOF); adopt
      -- it so the next hello still supersedes this session.
      if epoch_s ~= st.e then ep[student], st.e = tonumber(epoch_s), epoch_s end
      dirty[student] = true
      stored = stored + 1
      outcome = STORED
    end
    out[i] = outcome
  end
  if stored > 0 then
    check_type(log_key, 'stream')
    check_counter(seq_key, '!events')
  end
  if stored_answers then
    check_type(ans_key, 'hash')
    check_type(qidx_key, 'hash')
  end
  if new_students > 0 then
    check_counter(seq_key, '!students')
    check_type(roster_key, 'zset')
  end
  if submits > 0 then check_counter(seq_key, '!submitted') end
  return {
    log_key = log_key, ans_key = ans_key, seq_key = seq_key, qidx_key = qidx_key, roster_key = roster_key,
    a = a, n = n, out = out, state = state, dirty = dirty, newcomers = newcomers,
    stored = stored, new_students = new_students, submits = submits,
  }, a + 2 + n * FIELDS_PER_EVENT
end

-- The second pass: only writes, none of which can fail on what plan_bucket checked.
local function apply_bucket(plan, args)
  local log_key, ans_key, seq_key, qidx_key, out = plan.log_key, plan.ans_key, plan.seq_key, plan.qidx_key, plan.out
  -- Questions a student answers for the first time in this call, appended to qidx once at the end.
  local new_questions = {}
  for i = 1, plan.n do
    if out[i] == STORED then
      local b = plan.a + 2 + (i - 1) * FIELDS_PER_EVENT
      local student, seq_s, kind, question, value, cts, sts =
        args[b + 1], args[b + 3], args[b + 4], args[b + 5], args[b + 6], args[b + 7], args[b + 8]
      redis.call('XADD', log_key, '*', 's', student, 'q', question, 'k', kind, 'v', value,
        'seq', seq_s, 'cts', cts, 'sts', sts)
      if kind == 'a' then
        -- HSET answers 1 only for a new field: the first answer of this student to this question.
        if redis.call('HSET', ans_key, student .. '|' .. question, seq_s .. ',' .. cts .. ',' .. sts .. ',' .. value) == 1 then
          local list = new_questions[student]
          if list == nil then new_questions[student] = { question } else list[#list + 1] = question end
        end
      end
    end
  end
  for student in pairs(plan.dirty) do
    redis.call('HSET', seq_key, student, pack_state(plan.state[student]))
  end
  for student, list in pairs(new_questions) do
    local known = redis.call('HGET', qidx_key, student)
    local added = table.concat(list, ',')
    redis.call('HSET', qidx_key, student, known and (known .. ',' .. added) or added)
  end
  if plan.stored > 0 then redis.call('HINCRBY', seq_key, '!events', plan.stored) end
  if plan.new_students > 0 then redis.call('HINCRBY', seq_key, '!students', plan.new_students) end
  if plan.submits > 0 then redis.call('HINCRBY', seq_key, '!submitted', plan.submits) end
  -- Already there when the hello ran on this Redis; ZADD of a member with its score changes nothing.
  for _, student in ipairs(plan.newcomers) do redis.call('ZADD', plan.roster_key, 0, student) end
end

-- KEYS: log, ans, seq, closed, qidx, roster. ARGV: exam, n, then n events of 8 fields:
-- student, epoch, seq, kind (o|a|s), question, value, clientTs ('' = null), serverTs.
-- Returns one outcome per event, in order. Two passes: the first reads and decides, and runs every
-- check that can fail; the second only writes. So an error leaves nothing of the call written:
-- Redis does not roll back what a function wrote before an error, and a retried batch would then
-- take the half that got through for duplicates.
local function ux_write(keys, args)
  local plan, next_a = plan_bucket(keys, 0, args, 0)
  if #args ~= next_a then bad('argument count', 0, #args) end
  apply_bucket(plan, args)
  return plan.out
end

-- ux_write over several buckets in one call (version 7): a writer's batch at a moderate load
-- holds a few events in each of many buckets, and one call per bucket cost Redis and the writer
-- more per event than the events themselves. Single Redis only: the buckets' keys lie in
-- different Cluster slots. KEYS: 6 per bucket, as ux_write's, bucket after bucket. ARGV: the
-- number of buckets m, then per bucket ux_write's ARGV (exam, n, n events of 8 fields).
-- Returns every bucket's outcomes concatenated, in order. Every bucket is planned (and checked)
-- before any is written, so an error leaves nothing of the whole call written.
local function ux_write_many(keys, args)
  local m_s = args[1] or ''
  if not is_uint(m_s, '99999', false) then bad('bucket count', 0, m_s) end
  local m = tonumber(m_s)
  if #keys ~= 6 * m then return error({ err = 'UXBAD ux_write_many needs 6 keys per bucket: ' .. #keys .. ' keys for ' .. m .. ' buckets' }) end
  local plans, seen, a = {}, {}, 1
  for g = 1, m do
    -- A bucket given twice would be planned twice on the same stored state, its second half
    -- unaware of the first: its duplicates would be stored again.
    local seq_key = keys[(g - 1) * 6 + 3]
    if seen[seq_key] then return error({ err = 'UXBAD ux_write_many got bucket ' .. seq_key .. ' twice' }) end
    seen[seq_key] = true
    plans[g], a = plan_bucket(keys, (g - 1) * 6, args, a)
  end
  if #args ~= a then bad('argument count', 0, #args) end
  local out, o = {}, 0
  for g = 1, m do
    local plan = plans[g]
    apply_bucket(plan, args)
    for i = 1, plan.n do out[o + i] = plan.out[i] end
    o = o + plan.n
  end
  return out
end

-- KEYS: closed. ARGV: exam. Closes the bucket for good; returns 1 if this call closed it, 0 if it
-- already was. Publishes only on the change, so closing N buckets twice sends N messages, not 2N.
local function ux_close(keys, args)
  if not is_id(args[1] or '') then bad('exam', 0, args[1]) end
  local changed = redis.call('SETNX', keys[1], '1')
  if changed == 1 then redis.call('PUBLISH', CHANNEL_CLOSED, args[1]) end
  return changed
end

-- Reads a holder record: expiry, serial, count as numbers, or nil when there is none.
local function read_holder(holders_key, holder)
  local v = redis.call('HGET', holders_key, holder)
  if not v then return nil end
  local e, s, c = string.match(v, '^(%d+) (%d+) (%d+)$')
  if not e then return error({ err = 'UXCORRUPT holder ' .. holder .. ' of ' .. holders_key .. ': ' .. string.format('%q', v):sub(1, 40) }) end
  return { expiry = tonumber(e), serial = tonumber(s), count = tonumber(c) }
end

local function write_holder(holders_key, holder, h)
  redis.call('HSET', holders_key, holder, string.format('%d %d %d', h.expiry, h.serial, math.max(h.count, 0)))
end

-- The holder named by a `present` entry (`<epoch> <holder>`), and the entry's epoch.
local function entry_parts(entry)
  return string.match(entry, '^(%d+) (.+)$')
end

-- KEYS: seq, closed, holders. ARGV: now (ms since the epoch).
-- Returns { students, events, closed (0/1), submitted, connected (entries of holders still alive) }.
-- Costs one step per holder of the bucket (connection actors), whatever the number of students.
local function ux_counts(keys, args)
  local now = args[1] or ''
  if not is_uint(now, MAX_TS, true) then bad('now', 0, now) end
  local now_n = tonumber(now)
  local v = redis.call('HMGET', keys[1], '!students', '!events', '!submitted')
  local connected = 0
  local flat = redis.call('HGETALL', keys[3])
  for i = 1, #flat, 2 do
    local e, _, c = string.match(flat[i + 1], '^(%d+) (%d+) (%d+)$')
    if e and tonumber(e) > now_n then connected = connected + tonumber(c) end
  end
  return { tonumber(v[1] or '0'), tonumber(v[2] or '0'), is_closed(keys[2], keys[1]) and 1 or 0, tonumber(v[3] or '0'), connected }
end

-- KEYS: present, holders. ARGV: now, keepMs, holder, serial, expiry, retire ('' or holders joined by ','),
-- nJoin, then nJoin pairs (student, epoch) to join, then pairs (student, epoch) to leave.
-- One call per bucket of a connection actor, when its students arrive or leave and once per half
-- ttl as the holder's heartbeat. Leaves go first; a leave removes the entry only while it is the
-- one this holder wrote for that epoch, and a join never replaces the entry of a newer session, so
-- a student who reconnected elsewhere keeps their presence. A holder's calls carry serials 1, 2,
-- ...: a gap means some of its writes are gone (an AOF that lost its last second, a failover), and
-- the reply asks the actor to write its students again under a new holder. `retire` removes the
-- holders the actor abandoned (or itself, at a stop), so their entries stop counting at once.
-- Holders dead for longer than keepMs are dropped, and both keys expire keepMs after the last call.
-- Returns { resync (0/1), { positions (1-based) of joins refused for a newer session } }.
local function ux_presence(keys, args)
  local present_key, holders_key = keys[1], keys[2]
  local now, keep, holder, serial, expiry, retire, n_s = args[1] or '', args[2] or '', args[3] or '', args[4] or '', args[5] or '', args[6] or '', args[7] or ''
  if not is_uint(now, MAX_TS, true) then bad('now', 0, now) end
  if not is_uint(keep, MAX_TS, false) then bad('keepMs', 0, keep) end
  if not is_id(holder) then bad('holder', 0, holder) end
  if not is_uint(serial, MAX_SEQ, false) then bad('serial', 0, serial) end
  if not is_uint(expiry, MAX_TS, false) then bad('expiry', 0, expiry) end
  local retired = {}
  if retire ~= '' then
    for id in string.gmatch(retire .. ',', '([^,]*),') do
      if not is_id(id) then bad('retire', 0, retire) end
      retired[#retired + 1] = id
    end
  end
  if not is_uint(n_s, '999999', true) then bad('count', 0, n_s) end
  local n = tonumber(n_s)
  if #args < 7 + 2 * n or (#args - 7) % 2 ~= 0 then bad('argument count', 0, #args) end
  for i = 8, #args, 2 do
    if not is_id(args[i]) then bad('student', 0, args[i]) end
    if not is_uint(args[i + 1], MAX_SEQ, false) then bad('epoch', 0, args[i + 1]) end
  end
  check_type(present_key, 'hash')
  check_type(holders_key, 'hash')
  local now_n, serial_n = tonumber(now), tonumber(serial)
  local own = read_holder(holders_key, holder)
  local resync = (own == nil and serial_n ~= 1) or (own ~= nil and own.serial + 1 ~= serial_n)
  if own == nil then own = { expiry = 0, serial = 0, count = 0 } end
  local others = {}
  local function other_lost_one(other)
    if others[other] == nil then others[other] = read_holder(holders_key, other) or false end
    if others[other] then others[other].count = others[other].count - 1 end
  end
  for i = 8 + 2 * n, #args, 2 do
    if redis.call('HGET', present_key, args[i]) == args[i + 1] .. ' ' .. holder then
      redis.call('HDEL', present_key, args[i])
      own.count = own.count - 1
    end
  end
  local refused = {}
  for i = 8, 7 + 2 * n, 2 do
    local student, epoch = args[i], args[i + 1]
    local current = redis.call('HGET', present_key, student)
    local current_epoch, current_holder = nil, nil
    if current then current_epoch, current_holder = entry_parts(current) end
    if current_epoch and older(epoch, current_epoch) then
      refused[#refused + 1] = (i - 6) / 2
    else
      redis.call('HSET', present_key, student, epoch .. ' ' .. holder)
      if current_holder ~= holder then
        own.count = own.count + 1
        if current_holder then other_lost_one(current_holder) end
      end
    end
  end
  own.expiry, own.serial = math.max(own.expiry, tonumber(expiry)), serial_n
  write_holder(holders_key, holder, own)
  for other, h in pairs(others) do
    if h and other ~= holder then write_holder(holders_key, other, h) end
  end
  for _, id in ipairs(retired) do redis.call('HDEL', holders_key, id) end
  local flat = redis.call('HGETALL', holders_key)
  for i = 1, #flat, 2 do
    local e = string.match(flat[i + 1], '^(%d+) ')
    if e and tonumber(e) + tonumber(keep) < now_n then redis.call('HDEL', holders_key, flat[i]) end
  end
  -- A heartbeat is appended to the AOF with every write it makes: the keys' expiry is pushed only
  -- once half of it is gone, not at every call.
  local keep_n = tonumber(keep)
  for _, key in ipairs({ present_key, holders_key }) do
    if redis.call('PTTL', key) < keep_n / 2 then redis.call('PEXPIRE', key, keep) end
  end
  return { resync and 1 or 0, refused }
end

-- KEYS: roster, seq, present, holders. ARGV: after ('' from the start), limit, now, budget.
-- One page of the bucket's roster, by name after 'after': students with a stored event or a live
-- presence, at most limit of them, looking at no more than budget roster entries (students who
-- connected once, stored nothing and left are skipped, not listed). Returns
-- { last (the last entry looked at, '' if none), done (1: the bucket has nothing after last),
--   { student, packed state ('' if none), connected (0/1), ... } }.
local function ux_roster(keys, args)
  local roster_key, seq_key, present_key, holders_key = keys[1], keys[2], keys[3], keys[4]
  local after, limit_s, now, budget_s = args[1] or '', args[2] or '', args[3] or '', args[4] or ''
  if after ~= '' and not is_id(after) then bad('after', 0, after) end
  if not is_uint(limit_s, '100000', false) then bad('limit', 0, limit_s) end
  if not is_uint(now, MAX_TS, true) then bad('now', 0, now) end
  if not is_uint(budget_s, '1000000', false) then bad('budget', 0, budget_s) end
  local limit, budget, now_n = tonumber(limit_s), tonumber(budget_s), tonumber(now)
  local alive = {}
  local function holder_alive(holder)
    if alive[holder] == nil then
      local v = redis.call('HGET', holders_key, holder)
      local e = v and string.match(v, '^(%d+) ')
      alive[holder] = e ~= nil and tonumber(e) > now_n
    end
    return alive[holder]
  end
  local rows, taken, seen, last = {}, 0, 0, after
  while taken < limit and seen < budget do
    local want = math.min(limit - taken, budget - seen)
    local start = last == '' and '-' or ('(' .. last)
    local members = redis.call('ZRANGE', roster_key, start, '+', 'BYLEX', 'LIMIT', 0, want)
    for _, student in ipairs(members) do
      seen = seen + 1
      last = student
      local packed = redis.call('HGET', seq_key, student)
      local entry = redis.call('HGET', present_key, student)
      local live = false
      if entry then
        local _, holder = entry_parts(entry)
        live = holder ~= nil and holder_alive(holder)
      end
      local stored = packed and string.match(packed, '^%d+,(%d+),') ~= '0'
      if live or stored then
        rows[#rows + 1] = student
        rows[#rows + 1] = packed or ''
        rows[#rows + 1] = live and 1 or 0
        taken = taken + 1
      end
    end
    if #members < want then return { last, 1, rows } end
  end
  return { last, 0, rows }
end

local function ux_version(keys, args)
  return VERSION
end

redis.register_function('ux_hello', ux_hello)
redis.register_function('ux_write', ux_write)
redis.register_function('ux_write_many', ux_write_many)
redis.register_function('ux_close', ux_close)
redis.register_function('ux_presence', ux_presence)
redis.register_function{ function_name = 'ux_counts', callback = ux_counts, flags = { 'no-writes' } }
redis.register_function{ function_name = 'ux_roster', callback = ux_roster, flags = { 'no-writes' } }
redis.register_function{ function_name = 'ux_version', callback = ux_version, flags = { 'no-writes' } }
