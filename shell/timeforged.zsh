# TimeForged shell integration for zsh. Load it from ~/.zshrc with:
#
#     eval "$(tf init zsh)"
#
# preexec records "command started" and precmd "command finished" as one JSON line each,
# appended in-process to the spool file (zsh/system: no fork, no external command, one write),
# which the daemon consumes as it grows, or when it next starts if it is down. The event is on
# disk before the prompt comes back, whatever happens to the daemon. The hooks never print,
# never block the prompt, and leave $?, $_ and $pipestatus as they found them. Set
# TIMEFORGED_SHELL_DISABLED=1 to pause them.
#
# Everything sits inside one `if`, not behind a top-level `return`: that would also end the
# user's .zshrc when this text is eval'd there.

if [[ -o interactive ]] && zmodload zsh/datetime 2>/dev/null; then

  # Filled in by `tf init zsh`; a quoted here-document takes any path as it is.
  typeset -g _tf_spool
  IFS= read -r _tf_spool <<'__TF_PATH__'
@TF_SPOOL@
__TF_PATH__

  # Without zsh/system (a zsh built without it) events are dropped. Only the builtins used
  # here are loaded, so that the user's own commands keep their names.
  typeset -gi _tf_can_spool=0
  zmodload -F zsh/system b:sysopen b:syswrite b:sysseek f:systell 2>/dev/null && _tf_can_spool=1
  zmodload -F zsh/files b:zf_mkdir 2>/dev/null

  # The spool stops growing here, so that a daemon down for weeks cannot fill the disk (it
  # keeps only the newest `shell.spool_max_bytes` of it anyway).
  typeset -gi _tf_spool_limit=@TF_SPOOL_CAP@

  # The longest command sent, in bytes. It keeps a line far below the daemon's limit even when
  # every byte needs escaping, and a spool append within one write.
  typeset -gi _tf_max_command=4096

  # One well-formed UTF-8 sequence, then the first bytes of one cut short (each of which
  # `String::from_utf8_lossy` turns into a single U+FFFD), as byte patterns.
  typeset -g _tf_utf8_valid=$'([\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf](#c2)|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf](#c2)|[\xf1-\xf3][\x80-\xbf](#c3)|\xf4[\x80-\x8f][\x80-\xbf](#c2))'
  typeset -g _tf_utf8_cut=$'(\xe0[\xa0-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]|\xed[\x80-\x9f]|\xf0[\x90-\xbf][\x80-\xbf](#c0,1)|[\xf1-\xf3][\x80-\xbf](#c1,2)|\xf4[\x80-\x8f][\x80-\xbf](#c0,1)|[\x80-\xff])'

  # State between preexec and precmd; kept when this file is sourced again mid-command.
  typeset -g _tf_start=${_tf_start-} _tf_cwd=${_tf_cwd-} _tf_command=${_tf_command-}
  typeset -g _tf_pwd_seen=${_tf_pwd_seen-} _tf_pwd_json=${_tf_pwd_json-} _tf_json=

  # Sets _tf_json to $1 as the inside of a JSON string: cut to $2 bytes when given, invalid
  # UTF-8 replaced by U+FFFD as the daemon would, `\`, `"` and control characters escaped.
  # Runs with its callers' options: extended_glob, and no_multibyte (bytes, not characters).
  _tf_escape() {
    local s=$1
    (( $# > 1 )) && (( $#s > $2 )) && s=${s[1,$2]}
    # Most commands and directories need none of it.
    if [[ $s == ${~_tf_special} ]]; then
      local MATCH MBEGIN MEND c
      local -i i
      s=${s//\\/\\\\}
      s=${s//\"/\\\"}
      if [[ $s == *[$'\x00'-$'\x1f']* ]]; then
        s=${s//$'\n'/\\n}
        s=${s//$'\t'/\\t}
        s=${s//$'\r'/\\r}
        for (( i = 0; i < 32; i++ )); do
          c=${(#)i}
          [[ $s == *$c* ]] && s=${s//$c/\\u00${(l:2::0:)$(( [##16] i ))}}
        done
      fi
      if [[ $s == *[$'\x80'-$'\xff']* ]]; then
        s=${s//(#m)(${~_tf_utf8_valid}|${~_tf_utf8_cut})/${${(M)MATCH:#${~_tf_utf8_valid}}:-\\ufffd}}
      fi
    fi
    _tf_json=$s
  }

  # Appends one line to the spool. One syswrite in append mode: the line lands whole, never
  # interleaved with another shell's, and the daemon reading meanwhile sees it whole or not
  # yet. Runs with its callers' options and stderr (/dev/null).
  _tf_send() {
    (( _tf_can_spool )) || return 0
    local -i fd
    if ! sysopen -a -m 600 -o creat,cloexec -u fd -- $_tf_spool; then
      # The state directory does not exist yet (the daemon never ran): make it, as it would.
      (( $+builtins[zf_mkdir] )) && zf_mkdir -p -m 700 -- ${_tf_spool:h}
      sysopen -a -m 600 -o creat,cloexec -u fd -- $_tf_spool || return 0
    fi
    if sysseek -u $fd -w end 0 && (( systell(fd) < _tf_spool_limit )); then
      syswrite -o $fd -- $1$'\n'
    fi
    exec {fd}>&-
    return 0
  }

  # Bytes that a JSON string cannot hold as they are (or that may not be UTF-8).
  typeset -g _tf_special=$'*[\"\\\x00-\x1f\x80-\xff]*'

  # Error messages of the hooks' own go nowhere: the redirections on the blocks below, made on
  # each call (one on the function definition would be skipped when zsh calls it as a hook).
  # The commands the user runs keep their stderr. Functions are called as little as possible:
  # a call costs more than all the rest.
  _tf_preexec() {
    [[ ${TIMEFORGED_SHELL_DISABLED-} == 1 ]] && return 0
    {
      emulate -L zsh -o extended_glob -o no_multibyte
      _tf_start=${EPOCHREALTIME/,/.}
      # $1 is the line as typed; it is empty when the history mechanism is off, and $3 is
      # the full text being run.
      _tf_command=${1:-$3}
      if [[ $_tf_command == ${~_tf_special} ]] || (( $#_tf_command > _tf_max_command )); then
        _tf_escape "$_tf_command" $_tf_max_command
        _tf_command=$_tf_json
      fi
      if [[ $PWD != "$_tf_pwd_seen" ]]; then
        _tf_escape "$PWD"
        _tf_pwd_seen=$PWD _tf_pwd_json=$_tf_json
      fi
      _tf_cwd=$_tf_pwd_json
      _tf_send "{\"v\":1,\"type\":\"shell\",\"event\":\"start\",$_tf_who,\"cwd\":\"$_tf_cwd\",\"command\":\"$_tf_command\",\"time\":$_tf_start}"
    } 2>/dev/null
  }

  # An empty line runs no preexec: then there is nothing to finish, and nothing is done.
  # The end event repeats the start's cwd and command: it describes the command, which ran in
  # the directory it started in (a `cd` moves the shell, not the command).
  _tf_precmd() {
    local -i last_status=$?
    if [[ -n $_tf_start ]]; then
      {
        emulate -L zsh -o extended_glob -o no_multibyte
        _tf_send "{\"v\":1,\"type\":\"shell\",\"event\":\"end\",$_tf_who,\"cwd\":\"$_tf_cwd\",\"command\":\"$_tf_command\",\"time\":${EPOCHREALTIME/,/.},\"start\":$_tf_start,\"status\":$last_status}"
        _tf_start=
      } 2>/dev/null
    fi
    [[ -s $_tf_bell ]] && _tf_ring
    return $last_status
  }

  # The fields every event carries, escaped once.
  typeset -g _tf_who="\"shell\":\"zsh\",\"pid\":$$,\"tty\":null"
  if [[ -n ${TTY-} ]]; then
    () {
      emulate -L zsh -o extended_glob -o no_multibyte
      _tf_escape "$TTY"
      _tf_who="\"shell\":\"zsh\",\"pid\":$$,\"tty\":\"$_tf_json\""
    }
  fi

  # The focus timer's bell (`tf focus`): when it cannot show a desktop notification, the daemon
  # writes the id of the timer that rang to this file, and each shell rings the terminal bell
  # once for it, at its next prompt. What is there already when the shell starts is old news.
  typeset -g _tf_bell=${_tf_spool:h}/focus.bell _tf_bell_seen=
  [[ -s $_tf_bell ]] && { IFS= read -r _tf_bell_seen < $_tf_bell } 2>/dev/null

  # A stat per prompt, and a read only when the file is there.
  _tf_ring() {
    [[ -s $_tf_bell ]] || return 0
    local id=
    { IFS= read -r id < $_tf_bell } 2>/dev/null
    if [[ -n $id && $id != $_tf_bell_seen ]]; then
      _tf_bell_seen=$id
      print -n $'\a'
    fi
    return 0
  }

  # add-zsh-hook appends each function once, after the user's own, which keep running.
  autoload -Uz add-zsh-hook
  add-zsh-hook preexec _tf_preexec
  add-zsh-hook precmd _tf_precmd
fi
