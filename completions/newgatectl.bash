# bash completion for newgatectl(8): the commands, each command's options,
# user, group and PAM service names for the options that take them, files
# for the policy and test files.

_newgatectl()
{
    local cur prev words cword
    _init_completion || return

    if ((cword == 1)); then
        COMPREPLY=($(compgen -W 'check explain list fmt test edit install compile diff import -h --help -V --version' -- "$cur"))
        return
    fi

    case $prev in
        --user | --as-user)
            COMPREPLY=($(compgen -u -- "$cur"))
            return
            ;;
        --group)
            COMPREPLY=($(compgen -g -- "$cur"))
            return
            ;;
        --member-of)
            # A comma-separated list: complete its last group.
            local prefix=${cur%"${cur##*,}"}
            COMPREPLY=($(compgen -P "$prefix" -g -- "${cur##*,}"))
            compopt -o nospace
            return
            ;;
        --host)
            COMPREPLY=($(compgen -A hostname -- "$cur"))
            return
            ;;
        --service)
            COMPREPLY=($(compgen -W "$(command ls /etc/pam.d 2>/dev/null)" -- "$cur"))
            return
            ;;
        --at)
            return
            ;;
        --policy | --to | --out | --report)
            _filedir
            return
            ;;
    esac

    local options
    case ${words[1]} in
        check) options='--json --no-lookups --at' ;;
        diff) options='--host --at --json' ;;
        explain)
            local i
            for ((i = 2; i < cword; i++)); do
                if [[ ${words[i]} == -- ]]; then
                    _command_offset $((i + 1))
                    return
                fi
            done
            options='--policy --user --member-of --group --as-user --host --service --at --trace --json --'
            ;;
        list) options='--user --member-of --policy' ;;
        fmt) options='--check' ;;
        test) options='--policy --verbose' ;;
        edit) options= ;;
        install) options='--to --check' ;;
        compile) options='--status' ;;
        import)
            if ((cword == 2)) && [[ $cur != -* ]]; then
                COMPREPLY=($(compgen -W 'sudoers doas' -- "$cur"))
                return
            fi
            options='--out --force --report --json'
            ;;
        *) return ;;
    esac

    if [[ $cur == -* || ${words[1]} == @(explain|list) ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    else
        _filedir
    fi
} &&
    complete -F _newgatectl newgatectl
