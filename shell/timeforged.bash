# shellcheck shell=bash
# TimeForged shell integration for bash. Load it from ~/.bashrc, after bash-preexec or any
# other prompt hook if you use one:
#
#     eval "$(tf init bash)"
#
# When a command line starts, a "command started" event is recorded; when its prompt comes
# back, "command finished" with the exit status. Each event is appended to the spool file by
# `tf hook` in a background child (bash has no way to escape JSON quickly, nor to write it in
# one call), and the daemon consumes the spool as it grows, or when it next starts if it is
# down: the prompt never waits for either. The hooks never print, and leave $?, $_, $! and the
# job table as they found them. Set TIMEFORGED_SHELL_DISABLED=1 to pause them.
#
# With bash-preexec loaded, its preexec and precmd functions do the work. Otherwise a DEBUG trap
# notices the first command after the prompt (a line starting) and the first command of
# PROMPT_COMMAND (the line's status), and an entry added last to PROMPT_COMMAND sends "command
# finished". The user's own trap and PROMPT_COMMAND entries keep running, and see $?, $_ and
# PIPESTATUS as they would without the hook. Like bash-preexec's, the trap runs before every
# simple command typed at the prompt: tens of microseconds each, which only a long loop typed
# at the prompt (not a script, not a function) adds up.
#
# Everything sits inside one `if`, not behind a top-level `return`: that would also end the
# user's .bashrc when this text is eval'd there.

if [[ $- == *i* ]]; then

    # Filled in by `tf init bash`; a quoted here-document takes any path as it is.
    IFS= read -r __tf_bin <<'__TF_PATH__'
@TF_BIN@
__TF_PATH__

    # The terminal, found once: a fork on every prompt would be most of the hook's cost.
    if [[ -z ${__tf_tty+set} ]]; then
        __tf_tty=$(command tty 2>/dev/null) || __tf_tty=
    fi

    # The longest command sent, in bytes; far below the kernel's limit on one argument.
    __tf_max_command=4096

    # The command line, for the background child (off the prompt's path): from bash-preexec;
    # else from history: the line's own entry when it was saved there, or the last entry when
    # that is the same line left out as a duplicate; else the first simple command
    # (HISTCONTROL=ignorespace, history off).
    __tf_command_text() {
        if [[ -n ${__tf_line+set} ]]; then
            __tf_text=${__tf_line:0:__tf_max_command}
            return
        fi
        # Cut before any pattern work: bash's patterns are slow on a line of megabytes.
        local max=$__tf_max_command last number
        __tf_text=${__tf_simple:0:max}
        last=$(HISTTIMEFORMAT='' builtin history 1)
        last=${last:0:max+32}
        # "  12* cmd": the number, a `*` or space (an edited entry), a space.
        last=${last#"${last%%[![:space:]]*}"}
        number=${last%%[!0-9]*}
        last=${last:${#number}+2:max}
        if [[ -n ${__tf_in_history-} ]]; then
            if [[ $number == "$__tf_line_histcmd" ]]; then
                __tf_text=$last
            else
                # The line added history entries itself: look its own up.
                last=$(builtin history -p "!$__tf_line_histcmd" 2>/dev/null) &&
                    __tf_text=${last:0:max}
            fi
        elif [[ $last == "$__tf_text"* ]]; then
            __tf_text=$last
        fi
    }

    # Runs in the background child: one `tf hook` call.
    __tf_send() {
        __tf_command_text
        local -a args=(hook "$1" --shell=bash --pid="$$" --cwd="$__tf_cwd"
            --command="$__tf_text")
        [[ -n $__tf_tty ]] && args+=(--tty="$__tf_tty")
        if [[ $1 == start ]]; then
            [[ -n $__tf_start ]] && args+=(--time="$__tf_start")
        else
            [[ -n $2 ]] && args+=(--time="$2")
            [[ -n $__tf_start ]] && args+=(--start="$__tf_start")
            args+=(--status="$3")
        fi
        exec "$__tf_bin" "${args[@]}"
    }

    __tf_command_started() {
        [[ ${TIMEFORGED_SHELL_DISABLED-} == 1 ]] && return 0
        # bash >= 5 has EPOCHREALTIME; with a decimal comma in some locales. Before 5, tf hook
        # takes the time itself.
        __tf_start=${EPOCHREALTIME-}
        __tf_start=${__tf_start/,/.}
        __tf_cwd=$PWD
        __tf_running=1
        # A subshell that backgrounds the sender and exits at once: the prompt waits for one
        # fork, and $! and the job table stay the user's.
        (__tf_send start &) </dev/null >/dev/null 2>&1
    }

    # $1 = the command's exit status.
    __tf_command_finished() {
        [[ -n ${__tf_running-} ]] || return 0
        __tf_running=
        local now=${EPOCHREALTIME-}
        (__tf_send end "${now/,/.}" "$1" &) </dev/null >/dev/null 2>&1
    }

    # The focus timer's bell (`tf focus`): when it cannot show a desktop notification, the daemon
    # writes the id of the timer that rang to this file, and each shell rings the terminal bell
    # once for it, at its next prompt. What is there already when the shell starts is old news.
    IFS= read -r __tf_bell <<'__TF_PATH__'
@TF_BELL@
__TF_PATH__
    if [[ -z ${__tf_bell_seen+set} ]]; then
        __tf_bell_seen=
        [[ -s $__tf_bell ]] && IFS= read -r __tf_bell_seen <"$__tf_bell" 2>/dev/null
    fi

    # A stat per prompt, and a read (a builtin: no fork) only when the file is there.
    __tf_ring() {
        [[ -s $__tf_bell ]] || return 0
        local id=
        IFS= read -r id <"$__tf_bell" 2>/dev/null
        if [[ -n $id && $id != "$__tf_bell_seen" ]]; then
            __tf_bell_seen=$id
            printf '\a'
        fi
        return 0
    }

    if [[ -n ${bash_preexec_imported-}${__bp_imported-} ]]; then
        # bash-preexec passes the line as typed, and gives precmd functions the status in $?.
        __tf_bp_preexec() {
            __tf_line=$1
            __tf_command_started
        }
        __tf_bp_precmd() {
            local status=$?
            __tf_command_finished "$status"
            __tf_ring
            return "$status"
        }
        # shellcheck disable=SC2154 # bash-preexec declares both arrays.
        [[ " ${preexec_functions[*]} " == *" __tf_bp_preexec "* ]] || preexec_functions+=(__tf_bp_preexec)
        # shellcheck disable=SC2154
        [[ " ${precmd_functions[*]} " == *" __tf_bp_precmd "* ]] || precmd_functions+=(__tf_bp_precmd)
    else
        # Runs last in PROMPT_COMMAND, so that the user's entries before it see $? and
        # PIPESTATUS untouched. The status comes from the DEBUG trap, which saw it when
        # PROMPT_COMMAND began; $? here is only a fallback (HISTCMD unset).
        __tf_precmd() {
            local status=$?
            if [[ -n ${__tf_running-} ]]; then
                __tf_command_finished "${__tf_status:-$status}"
            elif [[ -n ${__tf_armed-} && -n ${__tf_histcmd-} && ${HISTCMD-} != "$__tf_histcmd" ]]; then
                # A line ran that the DEBUG trap never saw start: bash traps no command of a
                # subshell `( … )` typed at the prompt. Its start is unknown, so both events
                # are sent now (the line counts, its run time does not).
                unset __tf_line
                __tf_simple=
                __tf_line_histcmd=$__tf_histcmd
                __tf_in_history=1
                __tf_command_started
                __tf_command_finished "${__tf_status:-$status}"
            fi
            __tf_status=
            # From here on, the next DEBUG trap outside PROMPT_COMMAND is the user's command.
            __tf_armed=1
            # The number the next line will have in history if it is saved there.
            __tf_histcmd=${HISTCMD-}
            __tf_ring
            return "$status"
        }

        # Whether the command the DEBUG trap is about to run comes from PROMPT_COMMAND (a
        # hook added after this file, or this file's own).
        __tf_in_prompt_command() {
            local part
            for part in "${PROMPT_COMMAND[@]}"; do
                [[ $part == *"$BASH_COMMAND"* ]] && return 0
            done
            return 1
        }

        # The DEBUG trap runs before every simple command (bash keeps $? and PIPESTATUS
        # around it, and its argument keeps $_).
        # - At the prompt, the first one outside PROMPT_COMMAND, completion and `bind -x`
        #   widgets is a command line starting.
        # - While a line runs, HISTCMD stays one below what it is in the next PROMPT_COMMAND
        #   (saved in history or not): the first trap where it moved, on a command of
        #   PROMPT_COMMAND, is PROMPT_COMMAND starting, and its $? is the line's status.
        __tf_debug() {
            local status=$?
            # Only commands at the top level: with extdebug (functrace) the trap also runs
            # inside functions, this file's included.
            if [[ -n ${FUNCNAME[1]-} ]]; then
                return "$status"
            fi
            if [[ -n ${__tf_running-} ]]; then
                if [[ -z ${__tf_status-} && ${HISTCMD-} != "${__tf_line_histcmd-}" ]] &&
                    __tf_in_prompt_command; then
                    __tf_status=$status
                fi
            elif [[ -n ${__tf_armed-} && -z ${__tf_status-} && ${HISTCMD-} != "${__tf_histcmd-}" ]] &&
                __tf_in_prompt_command; then
                # PROMPT_COMMAND starting after a line the trap never saw start (a subshell):
                # $? is that line's status.
                __tf_status=$status
            elif [[ -n ${__tf_armed-} && -z ${COMP_LINE-} && -z ${READLINE_POINT+set} ]] &&
                ! __tf_in_prompt_command; then
                __tf_armed=
                unset __tf_line
                __tf_simple=$BASH_COMMAND
                __tf_line_histcmd=${HISTCMD-}
                # A saved line has the number HISTCMD had at the prompt; an ignored one
                # (HISTCONTROL, history off) has one less, and history 1 is an older line.
                __tf_in_history=
                [[ -o history && ${HISTCMD-} == "${__tf_histcmd-}" ]] && __tf_in_history=1
                __tf_command_started
            fi
            return "$status"
        }

        # PROMPT_COMMAND: ours last, once. Since bash 5.1 it may be an array.
        if [[ "${PROMPT_COMMAND[*]-}" != *__tf_precmd* ]]; then
            if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
                # shellcheck disable=SC2016 # expanded when PROMPT_COMMAND runs
                PROMPT_COMMAND+=('__tf_precmd "$_"')
            else
                # shellcheck disable=SC2128,SC2178 # a string here
                PROMPT_COMMAND="${PROMPT_COMMAND:+$PROMPT_COMMAND$'\n'}"'__tf_precmd "$_"'
            fi
        fi

        # The DEBUG trap: ours, then the user's, which sees $? and $_ unchanged. With no user
        # trap, end on a zero status, as under `shopt -s extdebug` a failing trap would skip
        # the command.
        __tf_trap=$(trap -p DEBUG)
        if [[ $__tf_trap != *__tf_debug* ]]; then
            __tf_user_trap=
            # shellcheck disable=SC2317 # called by the eval below
            __tf_take_trap() { __tf_user_trap=$2; }
            # `trap -p` prints `trap -- 'CODE' DEBUG`, quoted for eval.
            [[ -n $__tf_trap ]] && eval "__tf_take_trap ${__tf_trap#trap }"
            unset -f __tf_take_trap
            if [[ -n $__tf_user_trap ]]; then
                trap -- "__tf_debug \"\$_\"; $__tf_user_trap" DEBUG
            else
                trap -- '__tf_debug "$_" || : "$_"' DEBUG
            fi
        fi
        unset __tf_trap __tf_user_trap
    fi
fi
