
# ---- rlxc's part: container names and config keys, then the dispatcher ----

# The words of KIND (names, keys, system-keys) from the rlxc that the completed command runs,
# for the lxcpath typed on the line (-P), else RLXC_PATH, else the system config's (LXC's for
# lxc-*).
_rlxc_words() {
  # Not `path`: zsh ties that to PATH.
  local kind=$1 cmd=${_rlxc_program:-rlxc} lxcpath= binary i
  for (( i = 1; i < CURRENT; i++ )); do
    case ${words[i]} in
      (-P|--lxcpath) lxcpath=${words[i+1]} ;;
      (--lxcpath=*) lxcpath=${words[i]#--lxcpath=} ;;
    esac
  done
  lxcpath=${~lxcpath}
  binary=${commands[$cmd]:-$cmd}
  [[ -x $binary ]] || return 0
  local -a args
  args=(complete-words $kind)
  [[ -n $lxcpath ]] && args+=(--path $lxcpath)
  [[ ${cmd:t} == lxc-* ]] && args+=(--lxc)
  ${binary:A} $args 2>/dev/null
}

_rlxc_containers() {
  local -a names expl
  names=(${(f)"$(_rlxc_words names)"})
  _wanted containers expl container compadd -a names
}

_rlxc_defines() {
  local -a keys prefixes expl
  keys=(${(f)"$(_rlxc_words keys)"})
  prefixes=(${(M)keys:#*.})
  keys=(${keys:#*.})
  _wanted keys expl 'config key' compadd -S '=' -a keys
  compadd -S '' -a prefixes
}

_rlxc_keys() {
  local -a keys expl
  keys=(${(f)"$(_rlxc_words keys)"})
  _wanted keys expl 'config key' compadd -a keys
}

_rlxc_system_keys() {
  local -a keys expl
  keys=(${(f)"$(_rlxc_words system-keys)"})
  _wanted keys expl 'system config key' compadd -a keys
}

# The file's function, called for rlxc and every lxc-* name: clap_complete's function for
# the name, with the name kept for _rlxc_words.
_rlxc() {
  local _rlxc_program=${words[1]}
  case ${_rlxc_program:t} in
    (lxc-*) "_${_rlxc_program:t}" "$@" ;;
    (*) _rlxc_rlxc "$@" ;;
  esac
}

if [ "$funcstack[1]" = "_rlxc" ]; then
  _rlxc "$@"
else
  compdef _rlxc rlxc @LXC_TOOLS@
fi
