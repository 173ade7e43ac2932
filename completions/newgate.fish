# fish completion for newgate(8): its options, group names after -g, user
# names after -u and -U, folders after -D, then the command to run and that
# command's own arguments.

# The words after newgate's own options: the command, once one has started.
function __newgate_command
    set -l words (commandline -opc)
    set -e words[1]
    argparse -s n S s i H E l v k K h/help V/version g= u= U= p= D= -- $words 2>/dev/null
    or return 1
    set -q argv[1]
end

complete -c newgate -n 'not __newgate_command' -s n -d 'Never prompt; fail if a password would be needed'
complete -c newgate -n 'not __newgate_command' -s S -d 'Read the password from standard input'
complete -c newgate -n 'not __newgate_command' -s p -x -d 'The password prompt (%u %U %h %p %%)'
complete -c newgate -n 'not __newgate_command' -s g -x -a '(__fish_complete_groups)' -d 'Stay yourself, with GROUP as primary group'
complete -c newgate -n 'not __newgate_command' -s u -x -a '(__fish_complete_users)' -d "Become USER, with USER's groups"
complete -c newgate -n 'not __newgate_command' -s s -d "Run the target's shell"
complete -c newgate -n 'not __newgate_command' -s i -d "Run the target's login shell in its home"
complete -c newgate -n 'not __newgate_command' -s H -d "Accepted: HOME is always the target's"
complete -c newgate -n 'not __newgate_command' -s E -d 'Keep your environment, where the rule says keepenv'
complete -c newgate -n 'not __newgate_command' -s D -x -a '(__fish_complete_directories)' -d 'Run the command in DIR, where the rule says chdir'
complete -c newgate -n 'not __newgate_command' -s l -d 'List your rules, or say whether you may run COMMAND'
complete -c newgate -n 'not __newgate_command' -s U -x -a '(__fish_complete_users)' -d 'With -l: ask about USER (root only)'
complete -c newgate -n 'not __newgate_command' -s v -d 'Authenticate and remember it, running nothing'
complete -c newgate -n 'not __newgate_command' -s k -d 'Forget your remembered authentication; with a command, ask anyway'
complete -c newgate -n 'not __newgate_command' -s K -d 'Forget your remembered authentication, and say so'
complete -c newgate -n 'not __newgate_command' -s h -l help -d 'Print the usage'
complete -c newgate -n 'not __newgate_command' -s V -l version -d 'Print the version'
complete -c newgate -x -a '(__fish_complete_subcommand -g -u -U -p -D)'
