
# ---- rlxc's part: container names and config keys, then the registrations ----

# The words of KIND (names, keys, system-keys) from the rlxc that $1 runs, for the lxcpath
# typed on the line (-P), else RLXC_PATH, else the system config's (LXC's for lxc-*).
_rlxc_words() {
    local cmd=$1 kind=$2 i word path= binary
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            -P | --lxcpath) path=${COMP_WORDS[i + 1]} ;;
            --lxcpath=*) path=${word#--lxcpath=} ;;
            -P?*) path=${word#-P} ;;
        esac
    done
    [[ $path == "~"* ]] && path=$HOME${path#\~}
    # The binary behind the name: an lxc-* link resolves to rlxc itself.
    binary=$(type -P -- "$cmd") || return 0
    binary=$(readlink -f -- "$binary") || return 0
    local args=(complete-words "$kind")
    [[ -n $path ]] && args+=(--path "$path")
    [[ ${cmd##*/} == lxc-* ]] && args+=(--lxc)
    "$binary" "${args[@]}" 2>/dev/null
}

# The verb being completed: the first word after rlxc (it takes no options before it), or
# the VERB of lxc-VERB.
_rlxc_verb() {
    local name=${1##*/}
    if [[ $name == lxc-* ]]; then
        printf '%s' "${name#lxc-}"
    else
        printf '%s' "${COMP_WORDS[1]-}"
    fi
}

# Completes $1 (rlxc or an lxc-* name): the values only the host knows here, everything else
# by clap_complete's function for the name (_rlxc, _lxc__start, ...).
_rlxc_complete() {
    local cmd=$1 cur=$2 prev=$3 verb
    verb=$(_rlxc_verb "$cmd")
    case $prev in
        -n | --name)
            mapfile -t COMPREPLY < <(compgen -W "$(_rlxc_words "$cmd" names)" -- "$cur")
            return 0
            ;;
        -s | --define)
            if [[ $verb == start || $verb == execute || $verb == config ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$(_rlxc_words "$cmd" keys)" -- "$cur")
                # KEY= for a whole key; a prefix key (lxc.cgroup2.) goes on being typed.
                local i
                for i in "${!COMPREPLY[@]}"; do
                    [[ ${COMPREPLY[i]} == *. ]] || COMPREPLY[i]+="="
                done
                compopt -o nospace 2>/dev/null
                return 0
            fi
            ;;
        -c | --config)
            if [[ $verb == info ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$(_rlxc_words "$cmd" keys)" -- "$cur")
                return 0
            fi
            ;;
    esac
    local fn=_${cmd##*/}
    fn=${fn//-/__}
    "$fn" "$@"
    # config's KEY (LXC's lxc-config KEY): the system config's keys, besides the subcommands.
    local first=2
    [[ ${cmd##*/} == lxc-* ]] && first=1
    if [[ $verb == config && $COMP_CWORD -eq $first && $cur != -* ]]; then
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$(_rlxc_words "$cmd" system-keys)" -- "$cur")
    fi
}

if [[ ${BASH_VERSINFO[0]} -eq 4 && ${BASH_VERSINFO[1]} -ge 4 || ${BASH_VERSINFO[0]} -gt 4 ]]; then
    _rlxc_complete_options=(-o nosort -o bashdefault -o default)
else
    _rlxc_complete_options=(-o bashdefault -o default)
fi
complete -F _rlxc_complete "${_rlxc_complete_options[@]}" rlxc

# The lxc-* names only where they are links to rlxc (`rlxc compat-links`, the package's
# /usr/lib/rlxc/bin): LXC's own tools keep LXC's completions.
_rlxc_register_lxc_tools() {
    local name path
    for name in @LXC_TOOLS@; do
        path=$(type -P -- "$name") || continue
        path=$(readlink -f -- "$path") || continue
        [[ ${path##*/} == rlxc ]] && complete -F _rlxc_complete "${_rlxc_complete_options[@]}" "$name"
    done
}
_rlxc_register_lxc_tools
unset -f _rlxc_register_lxc_tools
unset _rlxc_complete_options
