# bash completion for newgate(8): its options, group names after -g, user
# names after -u and -U, folders after -D, then the command to run and that
# command's own arguments.

_newgate()
{
    local cur prev words cword
    _init_completion || return

    case $prev in
        -g)
            COMPREPLY=($(compgen -g -- "$cur"))
            return
            ;;
        -u | -U)
            COMPREPLY=($(compgen -u -- "$cur"))
            return
            ;;
        -D)
            _filedir -d
            return
            ;;
        -p)
            return
            ;;
    esac

    # The first word that is not an option (or the word after --) is the
    # command: from there on, complete as that command would.
    local i
    for ((i = 1; i <= cword; i++)); do
        case ${words[i]} in
            -g | -u | -U | -p | -D)
                ((i++))
                ;;
            --)
                _command_offset $((i + 1))
                return
                ;;
            -*) ;;
            *)
                _command_offset $i
                return
                ;;
        esac
    done

    COMPREPLY=($(compgen -W '-n -S -p -g -u -s -i -H -E -D -l -U -v -k -K -h --help -V --version --' -- "$cur"))
} &&
    complete -F _newgate newgate
