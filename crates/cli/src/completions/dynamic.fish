
# ---- rlxc's part: container names and config keys ----

# The words of KIND (names, keys, system-keys) from the rlxc that the completed command runs,
# for the lxcpath typed on the line (-P), else RLXC_PATH, else the system config's (LXC's for
# lxc-*).
function __rlxc_words --argument-names kind
    set -l tokens (commandline -opc)
    set -l cmd $tokens[1]
    set -l path
    set -l count (count $tokens)
    for i in (seq 2 $count)
        switch $tokens[$i]
            case -P --lxcpath
                if test $i -lt $count
                    set path $tokens[(math $i + 1)]
                end
            case '--lxcpath=*'
                set path (string replace -- --lxcpath= '' $tokens[$i])
        end
    end
    set -l binary (command -s -- $cmd)
    or return 0
    set -l args complete-words $kind
    if test -n "$path"
        set -a args --path $path
    end
    if string match -q -- 'lxc-*' (basename -- $cmd)
        set -a args --lxc
    end
    set -l real (realpath -- $binary)
    or return 0
    $real $args 2>/dev/null
end

complete -c rlxc -n "__fish_rlxc_using_subcommand info" -s c -l config -f -a "(__rlxc_words keys)"
complete -c lxc-info -s c -l config -f -a "(__rlxc_words keys)"
complete -c rlxc -n "__fish_rlxc_using_subcommand config" -f -a "(__rlxc_words system-keys)"
complete -c lxc-config -f -a "(__rlxc_words system-keys)"
