#!/usr/bin/env bash
# Regenerates src/bin/timeforged.order: the functions of `timeforged` that a day of use runs, in
# the order the release link lays them out at the start of .text (build.rs; README, "Memory").
#
# Why: the kernel maps a program's code 64 KiB around each page it touches. Hot functions
# scattered over 11 MB of text keep most of it resident in an idle daemon; packed together,
# a phase of use touches only its own block.
#
# How: the release daemon runs under valgrind's callgrind, which records every function that
# runs, through the phases below, most frequent first; callgrind writes one profile per phase.
# Each function is listed under the first phase that ran it. Needs valgrind, curl, git and zsh;
# takes about a minute. Run it again when the list has gone stale: `cargo bench --bench
# footprint` prints how many of its functions the binary still has.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
order=$repo/src/bin/timeforged.order

for tool in valgrind callgrind_control curl git zsh nm; do
    command -v "$tool" >/dev/null || {
        echo "link_order.sh needs $tool" >&2
        exit 1
    }
done

cargo build --release --locked --bins
bin=$repo/target/release
work=$(mktemp -d)
export TIMEFORGED_DIR=$work/home
daemon_pid=
cleanup() {
    [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

tf() { "$bin/tf" "$@" >/dev/null; }
# Ends a phase: callgrind writes what ran since the last one to callgrind.out.N.
phase() {
    kill -0 "$daemon_pid" 2>/dev/null || {
        cat "$work/valgrind.log" >&2
        exit 1
    }
    callgrind_control --dump "$daemon_pid" >/dev/null 2>&1
    phases+=("$1")
}
phases=()

# Phase 1: start, and the prompt's `tf status`. No autostart: `tf` must wait for the daemon
# under valgrind, which takes seconds to start.
mkdir -p "$TIMEFORGED_DIR"
printf '[daemon]\nautostart = false\n[http]\nlisten = "127.0.0.1:0"\n' >"$TIMEFORGED_DIR/config.toml"
valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/callgrind.out" "$bin/timeforged" run 2>"$work/valgrind.log" &
daemon_pid=$!
for _ in $(seq 120); do
    "$bin/tf" status >/dev/null 2>&1 && break
    sleep 1
done
tf status
phase start

# Phase 2: what the shell hook, a coding agent and scripts send.
repo_dir=$work/code/app
mkdir -p "$repo_dir"
git -C "$repo_dir" init -q -b main
zsh -f -i -c "eval \"\$('$bin/tf' init zsh)\"; _tf_preexec 'make test' 'make test' 'make test'; _tf_precmd" \
    </dev/null 2>/dev/null || true
tf agent event --agent claude-code --event edit --cwd "$repo_dir"
tf heartbeat --entity "$repo_dir/lib.rs" --write
sleep 1
tf status
phase socket

# Phase 3: an editor's WakaTime plugin: single and bulk heartbeats, the status bar.
now=$(date +%s)
key=$("$bin/tf" apikey)
api=$(sed -n 's/^http *\(http[^ ]*\).*/\1/p' <("$bin/tf" status))
auth=(-s -o /dev/null -u "$key:" -H 'Content-Type: application/json' -H 'X-Machine-Name: box')
one() {
    printf '{"entity":"%s/main.rs","type":"file","time":%d,"project":"app","language":"Rust","is_write":true,"lines":%d}' \
        "$repo_dir" "$1" "$2"
}
for n in $(seq 20); do
    curl "${auth[@]}" -d "$(one $((now - n)) "$n")" "$api/users/current/heartbeats"
done
curl "${auth[@]}" -d "[$(one $((now - 100)) 1),$(one $((now - 101)) 2)]" "$api/users/current/heartbeats.bulk"
curl "${auth[@]}" "$api/users/current/statusbar/today"
phase http

# Phase 4: a watched git repository: file saves, a branch, a commit through the git hooks.
tf watch add "$work/code"
tf git install "$repo_dir"
for n in 1 2 3; do
    echo "fn f$n() {}" >>"$repo_dir/lib.rs"
    sleep 1
done
git -C "$repo_dir" checkout -q -b feature/ABC-1
git -C "$repo_dir" add -A
git -C "$repo_dir" -c user.name=me -c user.email=me@example.com commit -qm "first"
sleep 1
phase watch

# Phase 5: a month of history, imported as JSON lines, then the CLI's reports.
for i in $(seq 0 5999); do
    printf '{"entity":"/home/me/p%d/src/f%d.rs","type":"file","time":%d,"project":"p%d","language":"Rust","branch":"main","is_write":%s}\n' \
        $((i % 3)) $((i % 40)) $((now - 30 * 86400 + i * 400)) $((i % 3)) "$([[ $((i % 4)) == 0 ]] && echo true || echo false)"
done >"$work/month.jsonl"
tf import "$work/month.jsonl"
tf status
tf report today
tf report week --by project --by language
tf report month --by project --by branch --by day
tf report month --by entity
tf report month --json
tf sessions week
tf log today
tf branches
tf commits
phase reports

# Phase 6: everything else of the CLI.
tf export
tf add --project p1 --from -3h --to -2h --note review
tf intervals week
tf focus start 25m
tf focus status
tf focus stop
phase cli

# Phase 7: WakaTime's read API, as editor dashboards and wakatime-cli ask it.
for path in "summaries?range=last_7_days" "summaries?start=$(date -d '-30 days' +%F)&end=$(date +%F)" \
    stats/last_7_days all_time_since_today projects "heartbeats?date=$(date +%F)" ""; do
    curl "${auth[@]}" "$api/users/current/$path"
done
phase wakatime

# Phase 8: the web dashboard, signed in through a one-time link.
link=$("$bin/tf" web --print)
jar=$work/cookies
curl -s -o /dev/null -c "$jar" -L "$link"
base=${link%%/login*}
for page in / "/by/language?range=week" /day /calendar /sessions /project/p1 /account; do
    curl -s -o /dev/null -b "$jar" "$base$page"
done
phase web

# Phase 9 (the profile written at exit): a reload, then stop.
kill -HUP "$daemon_pid"
sleep 2
tf status
"$bin/tf" daemon stop >/dev/null
wait "$daemon_pid" || true
daemon_pid=
phases+=(stop)

# The binary's functions by the first phase that ran them. Callgrind marks recursion levels as
# `name'2`; names the symbol table does not have (e.g. PLT stubs) are left out.
nm --defined-only --size-sort --radix=d "$bin/timeforged" | awk '$2 ~ /^[tTwW]$/ { print $3, $1 + 0 }' >"$work/text"
: >"$order"
for i in "${!phases[@]}"; do
    profile=$work/callgrind.out.$((i + 1))
    [[ -f $profile ]] || profile=$work/callgrind.out
    awk -v exe="$bin/timeforged" -v phase="${phases[i]}" '
        FILENAME == ARGV[1] { size[$1] = $2; next }
        FILENAME == ARGV[2] { listed[$0] = 1; next }
        /^ob=/ { in_exe = (substr($0, 4) == exe) }
        /^fn=/ && in_exe {
            fn = substr($0, 4); sub(/\047[0-9]+$/, "", fn)
            if ((fn in size) && !(fn in listed)) { listed[fn] = 1; print fn; n++; bytes += size[fn] }
        }
        END { printf "  %-9s %5d functions, %5.0f KiB\n", phase, n, bytes / 1024 > "/dev/stderr" }
    ' "$work/text" "$order" "$profile" >>"$order"
done
echo "$order: $(wc -l <"$order") functions"
