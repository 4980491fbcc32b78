-- GET a path, optionally authenticated.
--   BENCH_AUTH=bearer|cookie|none, BENCH_TOKEN=<access token>, BENCH_COOKIE_NAME (gh_access)
--   BENCH_FORWARDED_HOST: ask as a proxy's forward-auth subrequest for that host would
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local auth = os.getenv("BENCH_AUTH") or "none"
local token = os.getenv("BENCH_TOKEN") or ""
if auth == "bearer" then
  wrk.headers["Authorization"] = "Bearer " .. token
elseif auth == "cookie" then
  wrk.headers["Cookie"] = (os.getenv("BENCH_COOKIE_NAME") or "gh_access") .. "=" .. token
end
if os.getenv("BENCH_FORWARDED_HOST") then
  wrk.headers["X-Forwarded-Proto"] = "https"
  wrk.headers["X-Forwarded-Host"] = os.getenv("BENCH_FORWARDED_HOST")
  wrk.headers["X-Forwarded-Uri"] = "/wiki/Main_Page?action=view"
  wrk.headers["X-Forwarded-Method"] = "GET"
end
if os.getenv("BENCH_ACCEPT") then wrk.headers["Accept"] = os.getenv("BENCH_ACCEPT") end
