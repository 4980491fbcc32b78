#!/usr/bin/env python3
"""Turns one scripts/bench.sh run into its table and JSON file.

report.py meta.json runs.jsonl argon2.jsonl rss.log out.json

Rows are medians over the repeats. A ratio between two rows is computed inside each repeat
(both measured minutes apart at most, under the same background noise) and the median of
those per-repeat ratios is reported.
"""
import json
import statistics
import sys

meta_path, runs_path, argon_path, rss_path, out_path = sys.argv[1:6]
meta = json.load(open(meta_path))
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
argon = [json.loads(l) for l in open(argon_path) if l.strip()]
rss = []
for line in open(rss_path):
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        rss.append((int(parts[0]), int(parts[1])))

med = statistics.median


def by_rep(row):
    return {r["rep"]: r for r in runs if r["row"] == row}


def peak_rss_kb(run):
    inside = [kb for t, kb in rss if run["start_ms"] <= t <= run["end_ms"]]
    return max(inside) if inside else None


LABELS = {
    "bare": "bare axum, GET /livez (limit)",
    "livez": "GET /livez (baseline)",
    "me_bearer": "GET /api/v1/me, Bearer",
    "me_twin": "  ... a twin of it",
    "me_metrics": "  ... its twin with metrics on",
    "me_cookie": "GET /api/v1/me, cookie",
    "forward": "GET /auth/forward (forward-auth), cookie",
    "dashboard": "GET /dashboard (SSR, signed in)",
    "sessions_1": "GET /api/v1/sessions, 1 session",
    "sessions_cap": "GET /api/v1/sessions, 100 (the cap)",
    "sessions_2000": "  ... 2,000 sessions (a page of 100)",
    "refresh": "POST refresh (rotation)",
    "login": "POST login (sign-in)",
    "me_c4": "GET /api/v1/me, Bearer, 4 conns",
    "me_c4_during_flood": "  ... during a sign-in flood",
    "login_flood": "  (the flood: POST login)",
    "bare_scaled": "bare axum @ scale",
    "livez_scaled": "GET /livez @ scale",
    "me_bearer_scaled": "GET /api/v1/me, Bearer @ scale",
    "refresh_scaled": "POST refresh @ scale",
}
order = [k for k in LABELS if by_rep(k)]
rows = []
for key in order:
    reps = by_rep(key)
    rs = list(reps.values())
    base = by_rep("livez_scaled" if key.endswith("_scaled") else "livez")
    ratios = [reps[k]["rps"] / base[k]["rps"] for k in reps if k in base and base[k]["rps"] > 0]
    bare = by_rep("bare_scaled" if key.endswith("_scaled") else "bare")
    bare_ratios = [reps[k]["rps"] / bare[k]["rps"] for k in reps if k in bare and bare[k]["rps"] > 0]
    # The memory sampled is the first server's; the twin's row has none of its own.
    peaks = [p for p in (peak_rss_kb(r) for r in rs) if p] if key not in ("me_metrics", "me_twin") else []
    rows.append({
        "row": key,
        "label": LABELS[key],
        "connections": rs[0]["connections"],
        "sessions": med([r["sessions"] for r in rs]),
        "rps": med([r["rps"] for r in rs]),
        "p50_ms": med([r["p50_ms"] for r in rs]),
        "p90_ms": med([r["p90_ms"] for r in rs]),
        "p99_ms": med([r["p99_ms"] for r in rs]),
        "errors": sum(r["non2xx"] + r["socket_errors"] for r in rs),
        "requests": sum(r["requests"] for r in rs),
        "peak_rss_kb": max(peaks) if peaks else None,
        "rps_vs_livez": med(ratios) if ratios else None,
        "rps_vs_bare": med(bare_ratios) if bare_ratios else None,
        "repeats": len(rs),
    })
row = {r["row"]: r for r in rows}


def per_rep_ratio(a, b, field="rps", fn=lambda x, y: x / y):
    ra, rb = by_rep(a), by_rep(b)
    vals = [fn(ra[k][field], rb[k][field]) for k in ra if k in rb and rb[k][field]]
    return med(vals) if vals else None


argon_by_rep = {a["rep"]: a for a in argon}
login_by_rep = by_rep("login")
signin_ratios = [login_by_rep[k]["rps"] / argon_by_rep[k]["limit_per_sec"] for k in login_by_rep if k in argon_by_rep]
signin_vs_parallel = [login_by_rep[k]["rps"] / argon_by_rep[k]["parallel_per_sec"] for k in login_by_rep if k in argon_by_rep]
argon_summary = {
    "single_hash_ms_median": med([a["single_ms_median"] for a in argon]) if argon else None,
    "limit_per_sec": med([a["limit_per_sec"] for a in argon]) if argon else None,
    "parallel_measured_per_sec": med([a["parallel_per_sec"] for a in argon]) if argon else None,
    "cores": meta["machine"]["cores"],
    "method": "bench/argon2-limit: median of 20 argon2id verifies (m=19456,t=2,p=1), same crate and release "
              "settings as the server; limit = cores / that time. parallel_measured: cores threads at once.",
}

rss_kb = meta["rss_kb"]
wasm = meta["wasm_bytes"]
scaled = all(k in row for k in ("refresh_scaled", "me_bearer_scaled", "livez_scaled", "refresh", "me_bearer", "livez"))


def target(name, value, goal, met, fmt):
    return {"target": name, "value": value, "goal": goal, "met": bool(met) if value is not None else None, "shown": fmt}


targets = []
db_name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(meta.get("database", "sqlite"), meta.get("database"))


def vs_bare(key):
    return row[key]["rps_vs_bare"] if key in row else None


# Issue 18: every request's pipeline measured against the physical limit, bare axum.
if vs_bare("livez") is not None:
    r = vs_bare("livez")
    targets.append(target("GET /livez ≥ 0.7 × bare axum req/s", r, 0.7, r >= 0.7, f"{r:.2f}×"))
for key, name in (("me_bearer", "Bearer"), ("me_cookie", "cookie")):
    r = vs_bare(key)
    if r is not None:
        targets.append(target(f"GET /api/v1/me, {name} ≥ 0.5 × bare axum", r, 0.5, r >= 0.5,
                              f"{r:.2f}× ({row[key]['rps_vs_livez']:.2f}× /livez)"))
if vs_bare("forward") is not None:
    r = vs_bare("forward")
    vs_me = per_rep_ratio("forward", "me_cookie") if "me_cookie" in row else None
    targets.append(target("forward-auth check ≥ 0.5 × bare axum", r, 0.5, r >= 0.5,
                          f"{r:.2f}×" + (f" ({vs_me:.2f}× /api/v1/me, cookie)" if vs_me else "")))
if "refresh" in row:
    rot = row["refresh"]["rps"]
    targets.append(target(f"≥ 5,000 rotations/s, {db_name}, 32 clients", rot, 5000, rot >= 5000,
                          f"{rot:,.0f}/s ({row['refresh']['rps_vs_bare'] or 0:.3f}× bare axum)"))
if "login" in row and argon:
    s_in = med(signin_ratios)
    targets.append(target("sign-in ≥ 0.9 × argon2 limit (cores ÷ one hash)", s_in, 0.9, s_in >= 0.9,
                          f"{s_in:.2f}× ({row['login']['rps']:.1f}/s vs {argon_summary['limit_per_sec']:.1f}/s; "
                          f"{med(signin_vs_parallel):.2f}× the hash rate measured with {argon_summary['cores']} threads)"))
if "me_metrics" in row and "me_twin" in row:
    # Issue 16: metrics cost nothing measurable on /me. Two twins of the server (same binary,
    # database and token, started together), one with metrics on, their rows side by side in
    # every repeat (the order turning round); ratios are per repeat. The twin without metrics
    # against the server itself shows what two alike servers differ by.
    def ratios(a, b):
        ra, rb = by_rep(a), by_rep(b)
        return sorted(ra[k]["rps"] / rb[k]["rps"] for k in ra if k in rb and rb[k]["rps"])
    each, aa = ratios("me_metrics", "me_twin"), ratios("me_twin", "me_bearer")
    r = med(each)
    p99_on, p99_off = row["me_metrics"]["p99_ms"], row["me_twin"]["p99_ms"]
    shown = lambda xs: ", ".join(f"{x:.3f}" for x in xs)
    targets.append(target("GET /api/v1/me with metrics on ≥ 0.97 × off (twins, same run)", r, 0.97, r >= 0.97,
                          f"{r:.3f}× (repeats {shown(each)}; p99 {p99_on:.2f} vs {p99_off:.2f} ms; "
                          f"two alike servers: {med(aa):.3f}×, repeats {shown(aa)})"))
if "me_c4_during_flood" in row and "me_c4" in row:
    p99 = row["me_c4_during_flood"]["p99_ms"]
    p99_alone = row["me_c4"]["p99_ms"]
    targets.append(target("p99 of /api/v1/me during a sign-in flood ≤ 5 ms", p99, 5.0, p99 <= 5.0,
                          f"{p99:.2f} ms ({p99 / p99_alone:.1f}× the {p99_alone:.2f} ms without the flood)"))
if "dashboard" in row:
    r_dash = row["dashboard"]["rps_vs_livez"]
    r_dash_bare = vs_bare("dashboard")
    targets.append(target("dashboard SSR ≥ 0.5 × /livez req/s", r_dash, 0.5, r_dash >= 0.5,
                          f"{r_dash:.2f}× /livez" + (f", {r_dash_bare:.3f}× bare axum" if r_dash_bare is not None else "")))
# Idle = nothing in flight: 3 s after the set-up's last request. Right after it the two hashing
# threads still hold their argon2 memory (given back 250 ms after the last hash), so that
# sample is shown next to it but is not "idle".
idle_mb = rss_kb["idle_settled"] / 1024
load_mb = rss_kb["peak_after_main_load"] / 1024
targets.append(target("RSS ≤ 25 MB idle (3 s after the last request)", idle_mb, 25, idle_mb <= 25,
                      f"{idle_mb:.1f} MB ({rss_kb.get('idle_settled_anon', 0) / 1024:.1f} MB anonymous, "
                      f"{rss_kb.get('idle_settled_file', 0) / 1024:.1f} MB mapped files; {rss_kb['idle'] / 1024:.1f} MB "
                      f"right after the last sign-in)"))
scale_note = (f"; {rss_kb['peak_at_end'] / 1024:.1f} MB once a million sessions were added, most of it SQLite's mmap of the file"
              if rss_kb["peak_at_end"] > rss_kb["peak_after_main_load"] + 1024 else "")
targets.append(target("RSS ≤ 80 MB under load (VmHWM over the main runs)", load_mb, 80, load_mb <= 80,
                      f"{load_mb:.1f} MB{scale_note}"))
br_kb = wasm["brotli11"] / 1000
targets.append(target("wasm ≤ 200 kB brotli", br_kb, 200, br_kb <= 200,
                      f"{br_kb:.0f} kB (raw {wasm['raw'] / 1000:.0f} kB, gzip -9 {wasm['gzip9'] / 1000:.0f} kB)"))
if scaled:
    # Time per request at scale ÷ at 1,000 sessions = req/s at 1k ÷ req/s at scale.
    ref_t = row["refresh"]["rps"] / row["refresh_scaled"]["rps"]
    me_t = row["me_bearer"]["rps"] / row["me_bearer_scaled"]["rps"]
    live_t = row["livez"]["rps"] / row["livez_scaled"]["rps"]
    worst = max(ref_t, me_t)
    n = row["refresh_scaled"]["sessions"]
    targets.append(target(f"refresh and /me at {n:,.0f} sessions ≤ 1.2 × their time at ~1,000", worst, 1.2, worst <= 1.2,
                          f"refresh {ref_t:.2f}×, /me {me_t:.2f}× (/livez, touching no data, {live_t:.2f}×: the drift of the machine)"))

result = {**meta, "rows": rows, "argon2": argon_summary, "targets": targets, "runs": runs, "argon2_runs": argon}
json.dump(result, open(out_path, "w"), indent=2)

# ---- the table -------------------------------------------------------------------------
m = meta["machine"]
print()
built_from = f"binary {meta['binary']}" if meta.get("binary") else f"commit {meta['commit']}{' (+ local changes)' if meta['dirty_tree'] == 'yes' else ''}"
print(f"Gatehouse benchmarks on {db_name} — {meta['when']} — {built_from}, built {meta['binary_built']}")
print(f"{m['cpu']}, {m['cores']} cores, {m['mem_mb']:,} MB, {m['kernel']}; {m['wrk']}; "
      f"{meta['settings']['duration']} per run, median of {meta['settings']['repeats']}; load avg at end {m['loadavg_at_end']}")
print()
hdr = f"| {'what':34} | conns | {'sessions':>9} | {'req/s':>9} | {'p50 ms':>7} | {'p90 ms':>7} | {'p99 ms':>7} | {'× bare':>6} | {'× livez':>7} | {'peak RSS':>8} | errors |"
print(hdr)
print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
for r in rows:
    ratio = f"{r['rps_vs_livez']:.2f}" if r["rps_vs_livez"] is not None and not r["row"].startswith(("livez", "bare")) else ""
    small = r["rps_vs_bare"] is not None and r["rps_vs_bare"] < 0.1
    bare_ratio = (f"{r['rps_vs_bare']:.3f}" if small else f"{r['rps_vs_bare']:.2f}") if r["rps_vs_bare"] is not None and not r["row"].startswith("bare") else ""
    peak = f"{r['peak_rss_kb'] / 1024:.1f} MB" if r["peak_rss_kb"] else ""
    print(f"| {r['label']:34} | {r['connections']:5} | {r['sessions']:9,.0f} | {r['rps']:9,.1f} | {r['p50_ms']:7.2f} | "
          f"{r['p90_ms']:7.2f} | {r['p99_ms']:7.2f} | {bare_ratio:>6} | {ratio:>7} | {peak:>8} | {r['errors']:6} |")
print()
if argon:
  print(f"argon2 limit: one hash {argon_summary['single_hash_ms_median']:.1f} ms (median) → {argon_summary['cores']} cores ÷ that = "
        f"{argon_summary['limit_per_sec']:.1f} sign-ins/s; measured with {argon_summary['cores']} threads: "
        f"{argon_summary['parallel_measured_per_sec']:.1f}/s")
print(f"RSS: fresh start {rss_kb['fresh_start'] / 1024:.1f} MB; idle after setup {rss_kb['idle'] / 1024:.1f} MB "
      f"({rss_kb.get('idle_settled', 0) / 1024:.1f} MB 3 s later); peak under the main load {rss_kb['peak_after_main_load'] / 1024:.1f} MB, over the whole run {rss_kb['peak_at_end'] / 1024:.1f} MB (VmHWM); "
      f"after the runs {rss_kb['at_end'] / 1024:.1f} MB ({rss_kb.get('at_end_settled', 0) / 1024:.1f} MB 3 s later: "
      f"{rss_kb.get('at_end_anon', 0) / 1024:.1f} MB anonymous, {rss_kb.get('at_end_file', 0) / 1024:.1f} MB mapped files)")
print(f"wasm: raw {wasm['raw']:,} B, gzip -9 {wasm['gzip9']:,} B, brotli -q 11 {wasm['brotli11']:,} B")
if scaled:
    print(f"scale: {meta['settings']['scale_insert_ms'] / 1000:.1f} s to insert the extra sessions in one transaction")
print()
for t in targets:
    mark = "met" if t["met"] else "NOT met"
    print(f"  [{mark:7}] {t['target']}: {t['shown']}")
