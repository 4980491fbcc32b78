-- POST /api/v1/auth/refresh with a fresh refresh token on every request.
-- BENCH_TOKENS_FILE holds one refresh token per line (at least one per connection), each
-- from its own POST /api/v1/auth/login. Every thread keeps a pool of live tokens: a request
-- takes one out, its 200 answer puts the successor back. A token is never sent twice, so
-- every request is a real rotation (no grace-window replays, no reuse detection).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local threads = {}

-- BENCH_THREADS must equal wrk's -t: thread k of n keeps lines k, k+n, k+2n, ...
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  pool, rotated, failed, starved = {}, 0, 0, 0
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do
    if line ~= "" then
      if i % thread_count == thread_index then table.insert(pool, line) end
      i = i + 1
    end
  end
end

function request()
  -- wrk calls request() once in thread 0 before the run, only to check the script; that
  -- request is never sent, so it must not use up a token.
  if thread_index == 0 and not verified then
    verified = true
    return wrk.format("POST", "/api/v1/auth/refresh", { ["Content-Type"] = "application/json" },
      '{"refresh_token":"ghr_wrk_verification_only"}')
  end
  local token = table.remove(pool)
  if token == nil then
    starved = starved + 1
    token = "ghr_starved"
  end
  return wrk.format("POST", "/api/v1/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local next_token = string.match(body, '"refresh_token":"([^"]+)"')
    if next_token then
      table.insert(pool, next_token)
      rotated = rotated + 1
      return
    end
  end
  failed = failed + 1
end

function extra_report()
  local r, f, s = 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("rotated"); f = f + t:get("failed"); s = s + t:get("starved")
  end
  return string.format(',"rotated":%d,"failed":%d,"starved":%d', r, f, s)
end
