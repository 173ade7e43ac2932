# fish completion for newgate(8): its options, group names after -g, user
# names after -u, then the command to run and that command's own arguments.

# The words after newgate's own options: the command, once one has started.
function __newgate_command
    set -l words (commandline -opc)
    set -e words[1]
    argparse -s n s l k h/help V/version g= u= -- $words 2>/dev/null
    or return 1
    set -q argv[1]
end

complete -c newgate -n 'not __newgate_command' -s n -d 'Never prompt; fail if a password would be needed'
complete -c newgate -n 'not __newgate_command' -s g -x -a '(__fish_complete_groups)' -d 'Stay yourself, with GROUP as primary group'
complete -c newgate -n 'not __newgate_command' -s u -x -a '(__fish_complete_users)' -d "Become USER, with USER's groups"
complete -c newgate -n 'not __newgate_command' -s s -d "Run the target's shell"
complete -c newgate -n 'not __newgate_command' -s l -d 'Print the rules of the policy that concern you'
complete -c newgate -n 'not __newgate_command' -s k -d 'Forget your remembered authentication'
complete -c newgate -n 'not __newgate_command' -s h -l help -d 'Print the usage'
complete -c newgate -n 'not __newgate_command' -s V -l version -d 'Print the version'
complete -c newgate -x -a '(__fish_complete_subcommand -g -u)'
