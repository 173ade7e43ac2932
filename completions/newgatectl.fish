# fish completion for newgatectl(8): the commands, each command's options,
# user, group and PAM service names for the options that take them, files
# for the policy and test files.

set -l commands check explain list fmt test edit install compile diff import
complete -c newgatectl -f

complete -c newgatectl -n __fish_use_subcommand -s h -l help -d 'Print the usage'
complete -c newgatectl -n __fish_use_subcommand -s V -l version -d 'Print the version'
complete -c newgatectl -n __fish_use_subcommand -a check -d 'Check a policy'
complete -c newgatectl -n __fish_use_subcommand -a explain -d 'Decide one request and say which rule decided'
complete -c newgatectl -n __fish_use_subcommand -a list -d 'What a user may do'
complete -c newgatectl -n __fish_use_subcommand -a fmt -d 'Lay out policy files canonically'
complete -c newgatectl -n __fish_use_subcommand -a test -d 'Decide the expectations of test files'
complete -c newgatectl -n __fish_use_subcommand -a edit -d 'Edit the policy safely'
complete -c newgatectl -n __fish_use_subcommand -a install -d 'Check a new policy, then install it'
complete -c newgatectl -n __fish_use_subcommand -a compile -d 'Write the compiled snapshot of the installed policy'
complete -c newgatectl -n __fish_use_subcommand -a diff -d 'Compare two policies: rules and decisions that change'
complete -c newgatectl -n __fish_use_subcommand -a import -d 'Convert a sudoers file or a doas.conf to a policy'

# Policy and test files.
complete -c newgatectl -n '__fish_seen_subcommand_from check fmt test edit install diff import' -F

complete -c newgatectl -n '__fish_seen_subcommand_from check' -l json -d 'Print the diagnostics as JSON'
complete -c newgatectl -n '__fish_seen_subcommand_from check' -l no-lookups -d 'No warnings about users, groups and hosts missing here'
complete -c newgatectl -n '__fish_seen_subcommand_from check' -l at -x -d 'Check as of this time, like 2026-12-01T10:00'

complete -c newgatectl -n '__fish_seen_subcommand_from explain list test' -l policy -r -F -d 'Read FILE as a draft policy'
complete -c newgatectl -n '__fish_seen_subcommand_from explain list' -l user -x -a '(__fish_complete_users)' -d 'The user who asks'
complete -c newgatectl -n '__fish_seen_subcommand_from explain list' -l member-of -x -a '(__fish_append , (__fish_complete_groups))' -d "The user's groups"
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l group -x -a '(__fish_complete_groups)' -d 'The group asked for, as with newgate -g'
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l as-user -x -a '(__fish_complete_users)' -d 'The user asked for, as with newgate -u'
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l host -x -a '(__fish_print_hostnames)' -d 'The host name'
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l service -x -a '(path basename /etc/pam.d/*)' -d 'The PAM service'
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l at -x -d 'The time, like 2026-12-01T10:00'
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l trace -d 'Show every rule and why it did or did not match'
complete -c newgatectl -n '__fish_seen_subcommand_from explain' -l json -d 'Print the decision as JSON'
# After --, the command to explain, completed as that command would be.
function __newgatectl_explained_command
    # The current word is kept even when empty: then the command's arguments are completed.
    set -l words (commandline -opc) (commandline -ct | string collect --allow-empty)
    set -l at (contains -i -- -- $words)
    or return
    set -l command $words[(math $at + 1)..-1]
    complete -C "$command"
end
complete -c newgatectl -n '__fish_seen_subcommand_from explain; and contains -- -- (commandline -opc)' -x \
    -a '(__newgatectl_explained_command)'

complete -c newgatectl -n '__fish_seen_subcommand_from fmt install' -l check -d 'Only check; write nothing'
complete -c newgatectl -n '__fish_seen_subcommand_from test' -l verbose -d 'Also show the expectations that hold'
complete -c newgatectl -n '__fish_seen_subcommand_from install' -l to -r -F -d 'The file to replace'
complete -c newgatectl -n '__fish_seen_subcommand_from compile' -l status -d 'Say whether the snapshot is in use'
complete -c newgatectl -n '__fish_seen_subcommand_from diff' -l host -x -a '(__fish_print_hostnames)' -d 'The host name'
complete -c newgatectl -n '__fish_seen_subcommand_from diff' -l at -x -d 'The time, like 2026-12-01T10:00'
complete -c newgatectl -n '__fish_seen_subcommand_from diff' -l json -d 'Print the comparison as JSON'
complete -c newgatectl -n '__fish_seen_subcommand_from import; and not __fish_seen_subcommand_from sudoers doas' -a 'sudoers doas' -d 'The format to read'
complete -c newgatectl -n '__fish_seen_subcommand_from import' -l out -r -F -d 'Write the policy to FILE'
complete -c newgatectl -n '__fish_seen_subcommand_from import' -l force -d 'Replace an existing --out or --report file'
complete -c newgatectl -n '__fish_seen_subcommand_from import' -l report -r -F -d 'Write the report to FILE'
complete -c newgatectl -n '__fish_seen_subcommand_from import' -l json -d 'Write the report as JSON'
