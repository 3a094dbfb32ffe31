#!/usr/bin/python3
"""bench/report.py - the report of one bench/run.sh run:  report.py <results folder> [--no-chart]

Reads <folder>/env.txt and the workload folders (import/, list-<N>/, t2/), prints the tables (medians of the
timed rounds, round 0 and failed runs left out; ratios against the peers of the same run) and the issue-8
targets, and writes <folder>/summary.csv plus, unless --no-chart, <folder>/t3.png (time and peak RSS against
host count) and <folder>/t2.png (create/remove per peer).
"""
import csv
import math
import os
import statistics
import sys

out = sys.argv[1]
chart = "--no-chart" not in sys.argv[2:]
MB = 1e6 / 1024  # KiB per MB (10^6 bytes)


def read_env(path):
    try:
        return dict(l.rstrip("\n").split("=", 1) for l in open(path) if "=" in l)
    except OSError:
        return {}


def read_csv(path):
    try:
        return list(csv.DictReader(open(path)))
    except OSError:
        return []


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def stats(rows, w):
    """Medians over the timed rounds (round >= 1) that succeeded (rc 0)."""
    rows = [r for r in rows if r["workload"] == w and r["round"] != "0"]
    ok = [r for r in rows if r["rc"] == "0"]
    if not ok:
        return None
    wall = [float(r["wall_s"]) for r in ok]
    cpu = [num(r["user_s"]) + num(r["sys_s"]) for r in ok if num(r["user_s"]) is not None and num(r["sys_s"]) is not None]
    rss = [num(r["maxrss_kib"]) for r in ok if num(r["maxrss_kib"]) is not None]
    return dict(median=statistics.median(wall), min=min(wall), max=max(wall), n=len(ok), total=len(rows),
                cpu=statistics.median(cpu) if cpu else None, rss=statistics.median(rss) / 1024 if rss else None,
                rss_max=max(rss) / 1024 if rss else None,
                seen="/".join(sorted({r["seen"] for r in ok}, key=lambda s: (len(s), s))))


def of_values(vals):
    if not vals:
        return None
    return dict(median=statistics.median(vals), min=min(vals), max=max(vals), n=len(vals), total=len(vals),
                cpu=None, rss=None, rss_max=None, seen="")


def peak_rss_mib(path):
    try:
        for l in open(path):
            if "Maximum resident set size" in l:
                return int(l.split(":")[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def first_line(path, match=None):
    try:
        for l in open(path, errors="replace"):
            l = l.strip()
            if l and (match is None or match in l):
                return l[:160]
    except OSError:
        pass
    return None


def first_errors(d, rows, w):
    """'k/n runs failed: <first error line of the first failed run>' for the timed runs of w, or None."""
    timed = [r for r in rows if r["workload"] == w and r["round"] != "0"]
    bad = [r for r in timed if r["rc"] != "0"]
    if not bad:
        return None
    r = bad[0]
    path = os.path.join(d, "out", f"{w}.{r['round']}.txt")
    msg = first_line(path, ":") if w.startswith("vf") else None
    for l in (open(path, errors="replace").read().splitlines() if os.path.exists(path) else []):
        if any(k in l for k in ("no SSH answer", "rror", "FAILED", "failed", "fatal")):
            msg = l.strip()[:160]
            break
    hosts = 0
    try:
        hosts = sum(1 for l in open(path, errors="replace") if "no SSH answer" in l or "ConnectTimeout" in l)
    except OSError:
        pass
    extra = f" ({hosts} host(s) with 'no SSH answer' in that run)" if hosts else ""
    return f"{len(bad)}/{len(timed)} runs failed (rc {r['rc']}): {msg or '?'}{extra}"


def fmt(v, p=3):
    return "-" if v is None else f"{v:.{p}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


lines = []
summary = [["section", "workload", "hosts", "op", "median_s", "min_s", "max_s", "ok", "runs", "ratio_vs_ssh",
            "ratio_vs_ansible", "cpu_s", "peak_rss_mib", "seen"]]
targets = []  # (target, measured, met)


def add_summary(section, w, hosts, op, s, rs=None, ra=None):
    if s is None:
        summary.append([section, w, hosts, op] + [""] * 10)
        return
    summary.append([section, w, hosts, op, f"{s['median']:.6f}", fmt(s["min"], 6), fmt(s["max"], 6), s["n"], s["total"],
                    fmt(rs, 4) if rs is not None else "", fmt(ra, 4) if ra is not None else "",
                    fmt(s["cpu"], 3) if s["cpu"] is not None else "", fmt(s["rss"], 1) if s["rss"] is not None else "",
                    s["seen"]])


env = read_env(os.path.join(out, "env.txt"))
lines.append(f"VirtFleet bench {env.get('stamp', '')}: {env.get('command', '')}")
lines.append(f"    machine: {env.get('cpus', '?')} CPUs ({env.get('cpu_model', '')}), {int(env.get('mem_total_kib', '0')) // 1048576} GiB;"
             f" load {env.get('load_start', '?')} -> {env.get('load_end', '?')}; git {env.get('git', '?')}; vfsh built {env.get('vfsh_built', '?')}")
lines.append("    The lab hosts (sshd, libvirtd, qemu), the clients and other people's concurrent work share these CPUs:")
lines.append("    absolute times are noisy; compare the ratios of medians from interleaved, rotated rounds.")

# ---------------------------------------------------------------- import
imp_dir = os.path.join(out, "import")
if os.path.isdir(imp_dir):
    rows = read_csv(os.path.join(imp_dir, "runs.csv"))
    S = {w: stats(rows, w) for w in ("engine", "import", "startup")}
    ienv = read_env(os.path.join(imp_dir, "env.txt"))
    lines += ["", f"Module import: medians of {ienv.get('runs', '?')} rounds" + ("" if os.path.exists(os.path.join(imp_dir, "DONE")) else "  [INCOMPLETE]")]
    lines.append(f"{'vfsh':<40}{'median_s':>9}{'min_s':>8}{'max_s':>8}{'rss_MiB':>9}{'ok':>6}")
    for label, w in (("-NoModule -Command 1 (engine only)", "engine"), ("-NoModule -Command 'Import-Module psd1'", "import"),
                     ("-Command 1 (vfsh imports the module)", "startup")):
        s = S[w]
        if s is None:
            lines.append(f"{label:<40}{'FAILED':>9}")
        else:
            lines.append(f"{label:<40}{s['median']:>9.3f}{fmt(s['min']):>8}{fmt(s['max']):>8}{fmt(s['rss'], 0):>9}{str(s['n']) + '/' + str(s['total']):>6}")
        add_summary("import", w, "", "", s)
    if S["engine"] and S["import"]:
        d = S["import"]["median"] - S["engine"]["median"]
        d2 = S["startup"]["median"] - S["engine"]["median"] if S["startup"] else None
        lines.append(f"module import time (difference of medians): {d:.3f} s explicit Import-Module, {fmt(d2)} s vfsh's own import")
        summary.append(["import", "import_time", "", "", f"{d:.6f}"] + [""] * 9)
        targets.append(("Import-Module < 0.5 s", f"{d:.3f} s (vfsh's own import {fmt(d2)} s)", d < 0.5))

# ---------------------------------------------------------------- T1 / T3 listing
steps = []
for name in os.listdir(out):
    if name.startswith("list-") and name[5:].isdigit():
        steps.append(int(name[5:]))
steps.sort()
T3 = []  # (hosts, cold, warm, ssh, cold_rss, warm_rss, t1?)
for n in steps:
    d = os.path.join(out, f"list-{n}")
    lenv = read_env(os.path.join(d, "env.txt"))
    rows = read_csv(os.path.join(d, "runs.csv"))
    warm = read_csv(os.path.join(d, "warm.csv"))
    done = os.path.exists(os.path.join(d, "DONE"))
    if not rows:
        continue
    is_t1 = lenv.get("workload") == "T1"
    expect = lenv.get("bench_domains", "?")
    S = {w: stats(rows, w) for w in ("vf_cold", "vf_keeper", "pwsh_cold", "pwsh_keeper", "ssh_xargs", "ansible", "ansible_reuse")}
    clean = [r for r in warm if r["call"] != "0" and r.get("errors", "0") in ("0", None, "")]
    S["vf_warm"] = of_values([float(r["seconds"]) for r in clean])
    if S["vf_warm"]:
        S["vf_warm"]["seen"] = "/".join(sorted({r["seen"] for r in clean}))
        S["vf_warm"]["total"] = len([r for r in warm if r["call"] != "0"])
    w0 = [float(r["seconds"]) for r in warm if r["call"] == "0"]
    S["vf_warm0"] = of_values(w0)
    if S["vf_warm0"]:
        S["vf_warm0"]["seen"] = warm[0]["seen"]
    warm_rss = peak_rss_mib(os.path.join(d, "out", "vf_warm.time"))
    stand_in = lenv.get("vf_command", "Get-VfInstance") != "Get-VfInstance"
    ssh_med = S["ssh_xargs"]["median"] if S["ssh_xargs"] else None
    ans_med = S["ansible"]["median"] if S["ansible"] else None
    title = ("T1" if is_t1 else "T3") + f": list all instances, {n} hosts x {lenv.get('domains_per_host', '?')} domains " \
            f"({lenv.get('running_per_host', '?')} running); medians of {lenv.get('runs', '?')} rounds, {lenv.get('warm_calls', '?')} warm calls" \
            + ("" if done else "  [INCOMPLETE]")
    lines += ["", title,
              f"    load {lenv.get('load_start', '?')} -> {lenv.get('load_end', '?')}; domains on the hosts: {lenv.get('all_domains', '?')} ({expect} bench)"]
    lines.append(f"{'workload':<34}{'median_s':>9}{'vs_ssh':>8}{'vs_ansible':>11}{'min_s':>8}{'max_s':>8}{'cpu_s':>7}{'rss_MiB':>9}{'ok':>6}  seen")
    table = [("vf cold" + (" [stand-in Test-VfHost]" if stand_in else ""), "vf_cold")]
    if is_t1:
        table += [("vf cold, keeper up (new vfsh)", "vf_keeper"), ("pwsh cold (new pwsh + module)", "pwsh_cold"),
                  ("pwsh cold, keeper up", "pwsh_keeper")]
    table += [("vf warm (per call)", "vf_warm"), ("vf warm, 1st call in session", "vf_warm0"),
              (f"ssh xargs -P{lenv.get('xargs_parallel', '?')}", "ssh_xargs")]
    if is_t1:
        table += [("ansible list_vms", "ansible"), ("ansible list_vms, ssh reused", "ansible_reuse")]
    for label, w in table:
        s = S.get(w)
        if s is None:
            ran = w == "vf_warm" or any(r["workload"] == w for r in rows)
            lines.append(f"{label:<34}{('FAILED' if ran else 'skipped') if w != 'vf_warm0' else '-':>9}")
            add_summary("T1" if is_t1 else "T3", w, n, "list", None)
            continue
        rs, ra = ratio(s["median"], ssh_med), ratio(s["median"], ans_med)
        rss = s["rss"] if w != "vf_warm" else warm_rss
        lines.append(f"{label:<34}{s['median']:>9.3f}{fmt(rs, 2):>8}{fmt(ra, 2):>11}{fmt(s['min']):>8}{fmt(s['max']):>8}"
                     f"{fmt(s['cpu'], 2):>7}{fmt(rss, 0):>9}{str(s['n']) + '/' + str(s['total']):>6}  {s['seen']}")
        s2 = dict(s, rss=rss)
        add_summary("T1" if is_t1 else "T3", w, n, "list", s2, rs, ra if is_t1 else None)
    lines.append(f"    seen = distinct bench domains in the output (expected {expect}); cpu_s = user+sys of the process tree;")
    lines.append("    rss = peak RSS (GNU time); vf warm rss = the whole warm session's peak. vf warm: Stopwatch in one vfsh session.")
    if warm:
        lines.append("    vf warm per call (s): " + " ".join(("first " if r["call"] == "0" else "") + f"{float(r['seconds']):.3f}"
                                                          + (f"({r['errors']} host errors)" if r.get("errors", "0") not in ("0", None, "") else "") for r in warm))
    for w in ("vf_cold", "vf_keeper", "pwsh_cold", "pwsh_keeper", "ssh_xargs", "ansible", "ansible_reuse"):
        e = first_errors(d, rows, w)
        if e:
            lines.append(f"    {w} failures: {e}")
    e = first_line(os.path.join(d, "out", "vf_warm.stderr"))
    if e:
        lines.append(f"    vf warm session errors: {e}")
    bad = [label for label, w in table if S.get(w) and S[w]["seen"] not in ("", str(expect)) and not (stand_in and w.startswith("vf"))]
    if bad:
        lines.append(f"    WARNING: did not see all {expect} bench domains: {', '.join(bad)}")
    if is_t1:
        if S["vf_cold"] and ssh_med:
            r = S["vf_cold"]["median"] / ssh_med
            targets.append((f"T1 cold <= 1.0 x ssh xargs ({n} hosts)", f"{r:.2f} x ({S['vf_cold']['median']:.3f} s vs {ssh_med:.3f} s)", r <= 1.0))
        if S["vf_keeper"] and ssh_med:
            r = S["vf_keeper"]["median"] / ssh_med
            targets.append((f"T1 cold vfsh with the keeper <= 0.5 x ssh xargs ({n} hosts)",
                            f"{r:.2f} x ({S['vf_keeper']['median']:.3f} s vs {ssh_med:.3f} s)", r <= 0.5))
        if S["vf_cold"] and ans_med:
            r = S["vf_cold"]["median"] / ans_med
            targets.append((f"T1 cold <= 0.5 x Ansible ({n} hosts)", f"{r:.2f} x ({S['vf_cold']['median']:.3f} s vs {ans_med:.3f} s)", r <= 0.5))
        if S["vf_warm"] and ssh_med:
            r = S["vf_warm"]["median"] / ssh_med
            targets.append((f"T1 warm <= 0.05 x ssh xargs ({n} hosts)", f"{r:.3f} x ({S['vf_warm']['median']:.3f} s vs {ssh_med:.3f} s)", r <= 0.05))
    T3.append(dict(hosts=n, cold=S["vf_cold"] and S["vf_cold"]["median"], warm=S["vf_warm"] and S["vf_warm"]["median"],
                   ssh=ssh_med, cold_rss=S["vf_cold"] and S["vf_cold"]["rss_max"], warm_rss=warm_rss, t1=is_t1, done=done,
                   cold_cpu=S["vf_cold"] and S["vf_cold"]["cpu"]))

if len(T3) > 1 or (T3 and "T3" in env.get("workloads", "")):
    lines += ["", "T3: listing time and VirtFleet memory against host count (medians; T1's run is the point at its host count)"]
    lines.append(f"{'hosts':>5}{'vf_cold_s':>10}{'vf_warm_s':>10}{'ssh_xargs_s':>12}{'cold/ssh':>9}{'warm/ssh':>9}"
                 f"{'warm_ms/host':>13}{'cold_rss_MiB':>13}{'warm_rss_MiB':>13}")
    for p in T3:
        lines.append(f"{p['hosts']:>5}{fmt(p['cold']):>10}{fmt(p['warm']):>10}{fmt(p['ssh']):>12}{fmt(ratio(p['cold'], p['ssh']), 2):>9}"
                     f"{fmt(ratio(p['warm'], p['ssh']), 2):>9}{fmt(p['warm'] and p['warm'] * 1000 / p['hosts'], 1):>13}"
                     f"{fmt(p['cold_rss'], 0):>13}{fmt(p['warm_rss'], 0):>13}" + ("" if p["done"] else "  [INCOMPLETE]"))
    pts = [p for p in T3 if p["warm"]]
    if len(pts) >= 2:
        a, b = pts[0], pts[-1]
        growth = b["warm"] / a["warm"]
        hosts_ratio = b["hosts"] / a["hosts"]
        slope = math.log(growth) / math.log(hosts_ratio)
        lines.append(f"    warm growth {a['hosts']} -> {b['hosts']} hosts: x{growth:.2f} for x{hosts_ratio:.0f} hosts "
                     f"(log-log slope {slope:.2f}; 1.00 = linear)")
        targets.append((f"T3 warm listing grows no worse than linearly ({a['hosts']} -> {b['hosts']} hosts)",
                        f"x{growth:.2f} for x{hosts_ratio:.0f} hosts, slope {slope:.2f}", slope <= 1.0))
    # Memory targets: under 200 MB at 64 hosts (issue 8), under 250 MB at 128 hosts (issue 18); else the largest point.
    limits = {64: 200e6, 128: 250e6}
    big = [p for p in T3 if p["hosts"] in limits] or ([T3[-1]] if T3 else [])
    for p in big:
        worst = max(v for v in (p["cold_rss"], p["warm_rss"]) if v is not None) if (p["cold_rss"] or p["warm_rss"]) else None
        if worst is not None:
            limit = limits.get(p["hosts"], 200e6)
            targets.append((f"VirtFleet process < {limit / 1e6:.0f} MB at {p['hosts']} hosts",
                            f"{worst * 1024 * 1024 / 1e6:.0f} MB peak RSS (cold {fmt(p['cold_rss'], 0)} MiB, warm session {fmt(p['warm_rss'], 0)} MiB)",
                            worst * 1024 * 1024 < limit if p["hosts"] in limits else None))
    for p in T3:
        summary.append(["T3", "point", p["hosts"], "list", fmt(p["warm"], 6), "", "", "", "", fmt(ratio(p["warm"], p["ssh"]), 4), "",
                        "", fmt(p["warm_rss"], 1), f"cold={fmt(p['cold'], 6)} ssh={fmt(p['ssh'], 6)} cold_rss={fmt(p['cold_rss'], 1)}"])

# ---------------------------------------------------------------- T2
t2_dir = os.path.join(out, "t2")
T2 = {}
if os.path.isdir(t2_dir):
    tenv = read_env(os.path.join(t2_dir, "env.txt"))
    rows = read_csv(os.path.join(t2_dir, "runs.csv"))
    done = os.path.exists(os.path.join(t2_dir, "DONE"))
    peers = [("vf cold (new vfsh per op)", "vf_cold"), ("vf cold, keeper up", "vf_keeper"), ("vf warm (one session)", "vf_warm"),
             ("parallel ssh loop", "ssh_loop"), ("ansible-playbook -f 8", "ansible")]
    for _, p in peers:
        c, r = stats(rows, p + ".create"), stats(rows, p + ".remove")
        by_round = {}
        for row in rows:
            if row["round"] != "0" and row["workload"] in (p + ".create", p + ".remove"):
                by_round.setdefault(row["round"], []).append(row)
        tot = [sum(float(x["wall_s"]) for x in v) for v in by_round.values() if len(v) == 2 and all(x["rc"] == "0" for x in v)]
        T2[p] = dict(create=c, remove=r, total=of_values(tot))
    warm_rss = peak_rss_mib(os.path.join(t2_dir, "out", "vf_warm.time"))
    lines += ["", f"T2: create {tenv.get('instances', '16')} instances on {tenv.get('host_count', '8')} hosts ({tenv.get('hosts', '').strip()}), "
              f"{tenv.get('per_host', '2')} per host, then remove them; medians of {tenv.get('runs', '?')} rounds" + ("" if done else "  [INCOMPLETE]"),
              f"    load {tenv.get('load_start', '?')} -> {tenv.get('load_end', '?')}; guests reniced to 19 (see env.txt)"]
    lines.append(f"{'peer':<28}{'op':<8}{'median_s':>9}{'vs_ssh':>8}{'vs_ansible':>11}{'min_s':>8}{'max_s':>8}{'cpu_s':>7}{'rss_MiB':>9}{'ok':>6}")
    for label, p in peers:
        for op in ("create", "remove", "total"):
            s = T2[p][op]
            ref_s = T2.get("ssh_loop", {}).get(op)
            ref_a = T2.get("ansible", {}).get(op)
            if s is None:
                ran = any(r["workload"].startswith(p + ".") for r in rows)
                lines.append(f"{label if op == 'create' else '':<28}{op:<8}{'FAILED' if ran else 'skipped':>9}")
                add_summary("T2", p, tenv.get("host_count", ""), op, None)
                continue
            rs = ratio(s["median"], ref_s and ref_s["median"])
            ra = ratio(s["median"], ref_a and ref_a["median"])
            rss = warm_rss if p == "vf_warm" and op == "total" else s["rss"]
            lines.append(f"{label if op == 'create' else '':<28}{op:<8}{s['median']:>9.3f}{fmt(rs, 2):>8}{fmt(ra, 2):>11}{fmt(s['min']):>8}"
                         f"{fmt(s['max']):>8}{fmt(s['cpu'], 2):>7}{fmt(rss, 0):>9}{str(s['n']) + '/' + str(s['total']):>6}")
            add_summary("T2", p, tenv.get("host_count", ""), op, dict(s, rss=rss), rs, ra)
    for _, p in peers:
        for op in ("create", "remove"):
            e = first_errors(t2_dir, rows, p + "." + op)
            if e:
                lines.append(f"    {p} {op} failures: {e.replace('rc 97', 'rc 97 = wrong end state')}")
    lines.append("    total = create + remove of the same round. vf warm: Stopwatch inside one vfsh session driven between the")
    lines.append("    other peers' turns; its rss is the whole session's peak. An operation counts only if the check after it")
    lines.append("    found every domain running (create) or nothing left (remove).")
    # Issue 18: at most 1.0 x the loop, cold (a new vfsh per operation, with and without the keeper) and warm.
    for p, label in (("vf_cold", "cold"), ("vf_keeper", "cold, keeper up"), ("vf_warm", "warm")):
        s = T2.get(p, {}).get("total")
        for ref, lim, name in (("ssh_loop", 1.0, "parallel ssh loop"), ("ansible", 0.5, "Ansible")):
            r = T2.get(ref, {}).get("total")
            if s and r:
                targets.append((f"T2 {label} <= {lim} x {name} (create + remove)", f"{s['median'] / r['median']:.2f} x "
                                f"({s['median']:.2f} s vs {r['median']:.2f} s)", s["median"] / r["median"] <= lim))

# ---------------------------------------------------------------- M1
m1_dir = os.path.join(out, "m1")
if os.path.isdir(m1_dir):
    menv = read_env(os.path.join(m1_dir, "env.txt"))
    rows = read_csv(os.path.join(m1_dir, "runs.csv"))
    vf, sl = stats(rows, "vf"), stats(rows, "ssh")
    lines += ["", f"M1: move {menv.get('instances', '8')} running instances between {menv.get('hosts', '?')} (live, overlay copied), "
              f"medians of {menv.get('runs', '?')} rounds" + ("" if os.path.exists(os.path.join(m1_dir, "DONE")) else "  [INCOMPLETE]")]
    for label, s_, w in (("Move-VfInstance (one vfsh)", vf, "vf"), ("ssh loop of virsh migrate", sl, "ssh")):
        r = ratio(s_ and s_["median"], sl and sl["median"])
        lines.append(f"  {label:<30}{'FAILED' if s_ is None else format(s_['median'], '.2f') + ' s':>10}  vs ssh {fmt(r, 2)}")
        add_summary("M1", w, "2", "move", s_, r)

# ---------------------------------------------------------------- targets
if targets:
    lines += ["", "Targets (issues 8 and 18; this run)"]
    for t, m, ok in targets:
        lines.append(f"  {'MET   ' if ok else ('n/a   ' if ok is None else 'MISSED')} {t:<58} {m}")
failed = env.get("failed", "").strip()
if failed:
    lines.append(f"FAILED workloads: {failed}")
if env.get("leftovers_swept"):
    lines.append(f"leftover bench domains/disk folders found and removed at the end: {env['leftovers_swept']}")
lines.append(f"results: {out}")

# ---------------------------------------------------------------- charts
if chart:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if T3:
            fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
            xs = [p["hosts"] for p in T3]
            for key, label, style in (("cold", "VirtFleet cold (new vfsh)", "o-"), ("warm", "VirtFleet warm (per call)", "s-"),
                                      ("ssh", "xargs -P ssh virsh list", "^-")):
                pts = [(p["hosts"], p[key]) for p in T3 if p[key]]
                if pts:
                    ax.plot([a for a, _ in pts], [b for _, b in pts], style, label=label)
            w = [p for p in T3 if p["warm"]]
            if len(w) >= 2:
                ax.plot(xs, [w[0]["warm"] * x / w[0]["hosts"] for x in xs], ":", color="grey", label="linear from the first warm point")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(xs)
            ax.set_xticklabels([str(x) for x in xs])
            ax.set_xlabel("lab hosts (4 domains each, 2 running)")
            ax.set_ylabel("median wall time, s (log)")
            ax.set_title("T3: list every instance")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
            for key, label, style in (("cold_rss", "vfsh cold run", "o-"), ("warm_rss", "vfsh warm session", "s-")):
                pts = [(p["hosts"], p[key]) for p in T3 if p[key]]
                if pts:
                    ax2.plot([a for a, _ in pts], [b for _, b in pts], style, label=label)
            ax2.axhline(200e6 / 1048576, color="red", linestyle="--", label="target: 200 MB")
            ax2.set_xscale("log", base=2)
            ax2.set_xticks(xs)
            ax2.set_xticklabels([str(x) for x in xs])
            ax2.set_ylim(0, max([200e6 / 1048576 * 1.15] + [p[k] * 1.1 for p in T3 for k in ("cold_rss", "warm_rss") if p[k]]))
            ax2.set_xlabel("lab hosts")
            ax2.set_ylabel("peak RSS, MiB")
            ax2.set_title("T3: VirtFleet process memory")
            ax2.grid(True, alpha=0.3)
            ax2.legend(fontsize=8)
            fig.suptitle(f"VirtFleet bench {env.get('stamp', '')} - {env.get('cpus', '?')} CPUs shared by lab hosts, clients and other work; medians",
                         fontsize=9)
            fig.tight_layout()
            fig.savefig(os.path.join(out, "t3.png"), dpi=110)
            plt.close(fig)
            lines.append(f"chart: {os.path.join(out, 't3.png')}")
        if T2 and any(T2[p]["create"] for p in T2):
            fig, ax = plt.subplots(figsize=(8, 4.2))
            names = [("vf_cold", "VirtFleet cold"), ("vf_keeper", "VirtFleet cold, keeper"), ("vf_warm", "VirtFleet warm"),
                     ("ssh_loop", "ssh loop"), ("ansible", "Ansible")]
            names = [(p, l) for p, l in names if T2.get(p) and T2[p]["create"]]
            ys = range(len(names))
            cre = [T2[p]["create"]["median"] for p, _ in names]
            rem = [T2[p]["remove"]["median"] if T2[p]["remove"] else 0 for p, _ in names]
            ax.barh(list(ys), cre, label="create 16")
            ax.barh(list(ys), rem, left=cre, label="remove 16")
            ax.set_yticks(list(ys))
            ax.set_yticklabels([l for _, l in names])
            ax.invert_yaxis()
            ax.set_xlabel("median wall time, s")
            ax.set_title("T2: 16 instances on 8 hosts, create then remove")
            ax.legend()
            ax.grid(True, axis="x", alpha=0.3)
            fig.tight_layout()
            fig.savefig(os.path.join(out, "t2.png"), dpi=110)
            plt.close(fig)
            lines.append(f"chart: {os.path.join(out, 't2.png')}")
    except Exception as e:  # the tables matter more than the chart
        lines.append(f"chart not drawn: {e}")

print("\n".join(lines))
csv.writer(open(os.path.join(out, "summary.csv"), "w", newline="")).writerows(summary)
