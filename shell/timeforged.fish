# TimeForged shell integration for fish. Load it from ~/.config/fish/config.fish with:
#
#     tf init fish | source
#
# fish_preexec records "command started" and fish_postexec "command finished" with the exit
# status and $CMD_DURATION. Each event is appended to the spool file, which the daemon consumes
# as it grows (or when it next starts if it is down), by `tf hook`, started by a /bin/sh that
# backgrounds it and exits at once: a job of fish's own would show in `jobs`, change
# $last_pid, and its `disown` could take the user's job instead. The hooks never print and
# leave $status and $pipestatus as they found them. Set TIMEFORGED_SHELL_DISABLED=1 to pause
# them.

if status is-interactive
    # Filled in by `tf init fish`.
    set -g __tf_bin '@TF_BIN@'

    # The terminal, found once.
    if not set -q __tf_tty_arg
        set -g __tf_tty_arg
        set -l tty (command tty 2>/dev/null)
        and set -g __tf_tty_arg --tty=$tty
    end

    # The focus timer's bell (`tf focus`): when it cannot show a desktop notification, the
    # daemon writes the id of the timer that rang to this file, and each shell rings the
    # terminal bell once for it, at its next prompt. What is there already when the shell
    # starts is old news.
    set -g __tf_bell '@TF_BELL@'
    if not set -q __tf_bell_seen
        set -g __tf_bell_seen ''
        test -s $__tf_bell; and read -g __tf_bell_seen <$__tf_bell 2>/dev/null
    end

    function __tf_ring
        test -s $__tf_bell; or return 0
        read -l id <$__tf_bell 2>/dev/null
        if test -n "$id"; and test "$id" != "$__tf_bell_seen"
            set -g __tf_bell_seen $id
            printf '\a'
        end
        return 0
    end

    # Defining a function again replaces it and its event handler: sourcing twice is harmless.
    function __tf_preexec --on-event fish_preexec
        test "$TIMEFORGED_SHELL_DISABLED" = 1; and return
        set -g __tf_running 1
        set -g __tf_cwd $PWD
        # The line as typed, at most 4096 characters, newlines kept.
        set -g __tf_command (string sub --length 4096 -- $argv[1] | string collect)
        command /bin/sh -c '"$@" </dev/null >/dev/null 2>&1 &' sh $__tf_bin hook start \
            --shell=fish --pid=$fish_pid $__tf_tty_arg --cwd=$__tf_cwd "--command=$__tf_command" \
            </dev/null >/dev/null 2>&1
    end

    function __tf_postexec --on-event fish_postexec
        set -l command_status $status
        set -q __tf_running[1]; or return
        set -e __tf_running
        command /bin/sh -c '"$@" </dev/null >/dev/null 2>&1 &' sh $__tf_bin hook end \
            --shell=fish --pid=$fish_pid $__tf_tty_arg --cwd=$__tf_cwd "--command=$__tf_command" \
            --status=$command_status --duration-ms=$CMD_DURATION </dev/null >/dev/null 2>&1
        __tf_ring
    end
end
