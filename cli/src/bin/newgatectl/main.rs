//! newgatectl: the administrator's tool for the newgate policy.

#![forbid(unsafe_code)]

mod compile;
mod diff;
mod edit;
mod fmt;
mod import;
mod replace;
mod test;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;
use newgate::json::Json;
use newgate::resolve::{ResolveError, resolve_command};
use newgate_policy::time::parse_timestamp;
use newgate_policy::{
    DEFAULT_POLICY, Decision, Diagnostic, Directory, EnvChange, LoadOptions, Loaded, Options, Outcome, Policy, Request,
    Trust, load,
};
use newgate_system::{SystemDirectory, TargetError, groups_of, host_name, target_group, target_user};

const USAGE: &str = "\
usage: newgatectl check [--json] [--no-lookups] [--at TIME] [FILE]
       newgatectl explain [--policy FILE] --user USER [--member-of G1,G2] [--group GROUP]
                          [--as-user USER] [--host HOST] [--service SERVICE] [--at TIME]
                          [--trace] [--json] [-- COMMAND [ARGS...]]
       newgatectl list --user USER [--member-of G1,G2] [--policy FILE]
       newgatectl fmt [--check] [FILE...]
       newgatectl test [--policy FILE] [--verbose] TESTFILE...
       newgatectl edit [FILE]
       newgatectl install NEWFILE [--to FILE] [--check]
       newgatectl compile [--status]
       newgatectl diff [--host HOST] [--at TIME] [--json] OLD NEW
       newgatectl import sudoers|doas [FILE] [--out FILE] [--force] [--report FILE] [--json]
       newgatectl -h | --help | -V | --version

Commands:
  check     check a policy; exit 0 when valid (warnings allowed), 1 when invalid;
            --no-lookups skips the warnings that ask this machine (users,
            groups, hosts and cmd programs missing or found elsewhere first),
            for a policy written for other machines; --at TIME checks as of
            TIME (which `until` dates have passed) instead of now
  explain   decide one request and say which rule decided; exit 0 permit, 1 deny
  list      what a user may do, one line per rule that concerns them
  fmt       lay out policy files canonically; --check: exit 1 with a diff if one is not
  test      decide the expectations of TESTFILEs; exit 0 when all pass, 1 on a failure
  edit      edit the policy (or a drop-in) safely: locked, checked, saved atomically
  install   check NEWFILE as the policy would be with it, then install it atomically
  compile   write the compiled snapshot of the installed policy (as root), which
            newgate and pam_newgate use instead of parsing while it matches the
            policy's files; --status: say whether it is in use, exit 0 if so, 1 if not
  diff      the rules OLD and NEW add and remove, and the requests naming their users,
            groups, targets, commands and services whose decision changes;
            exit 0 no change, 1 changes
  import    convert a sudoers file (default /etc/sudoers) or a doas.conf (default
            /etc/doas.conf) to a policy, on standard output or --out (never over a
            file without --force), with a report of what was not carried over on
            standard error or --report (--json: as JSON); exit 0 all translated,
            3 something left out (the policy permits less there), 1 unreadable source

A FILE named on the command line is read as a draft, without the ownership
checks that the installed policy (/etc/newgate/policy) must pass.
Exit status 2 means a usage error or a policy that cannot be loaded; 4 means
the policy could not be read for lack of permission (run as root).
";

/// Exit codes scripts can rely on.
pub(crate) const EXIT_USAGE: u8 = 2;
/// The policy could not be read for lack of permission: it is unknown, not invalid.
const EXIT_UNREADABLE: u8 = 4;

pub(crate) struct Failure(pub(crate) String);

impl From<lexopt::Error> for Failure {
    fn from(e: lexopt::Error) -> Failure {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    if nix::unistd::geteuid() != nix::unistd::getuid() {
        eprintln!("newgatectl: refusing to run setuid; run it as the administrator you are");
        return ExitCode::from(EXIT_USAGE);
    }
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(Failure(message)) => {
            eprintln!("newgatectl: {message}");
            eprintln!("Try 'newgatectl --help' for more information.");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run() -> Result<u8, Failure> {
    let mut parser = lexopt::Parser::from_env();
    let command = match parser.next()? {
        Some(Value(v)) => v.string()?,
        Some(Long("help") | Short('h')) => {
            print!("{USAGE}");
            return Ok(0);
        }
        Some(Long("version") | Short('V')) => {
            println!("newgatectl {}", env!("CARGO_PKG_VERSION"));
            return Ok(0);
        }
        Some(other) => return Err(other.unexpected().into()),
        None => {
            return Err(Failure(
                "a command is needed: check, explain, list, edit, install, compile, diff, import, fmt or test".into(),
            ));
        }
    };
    match command.as_str() {
        "check" => check(parser),
        "explain" => explain(parser),
        "list" => list(parser),
        "fmt" => fmt::run(parser),
        "test" => test::run(parser),
        "edit" => edit::edit(parser),
        "install" => edit::install(parser),
        "compile" => compile::run(parser),
        "diff" => diff::run(parser),
        "import" => import::run(parser),
        other => Err(Failure(format!("unknown command `{other}`"))),
    }
}

/// The policy to read, and whether it is the installed one (checked) or a draft.
fn policy_source(file: Option<PathBuf>) -> (PathBuf, Trust) {
    match file {
        Some(f) if f != Path::new(DEFAULT_POLICY) => (f, Trust::Draft),
        _ => (PathBuf::from(DEFAULT_POLICY), Trust::ROOT),
    }
}

fn draft_note(path: &Path, trust: Trust) {
    if trust == Trust::Draft {
        eprintln!(
            "newgatectl: note: {} is read as a draft: ownership and permission checks skipped",
            path.display()
        );
    }
}

/// When the policy could not be read for lack of permission, says so (and
/// what to do) instead of calling it invalid, and gives the exit status.
fn refuse_unreadable(loaded: &Loaded, trust: Trust) -> Option<u8> {
    let first = loaded.unreadable.first().filter(|_| loaded.policy.is_none())?;
    let hint = if trust != Trust::Draft && !nix::unistd::geteuid().is_root() {
        "; the installed policy is readable by root only: run newgatectl as root (sudo newgatectl ...)"
    } else {
        ""
    };
    eprintln!("newgatectl: cannot read {}: permission denied{hint}", first.display());
    Some(EXIT_UNREADABLE)
}

pub(crate) fn print_diagnostics(loaded: &Loaded) {
    print_each(&loaded.diagnostics);
}

/// Prints diagnostics to stderr in one buffer: stderr is unbuffered, a
/// diagnostic is a dozen writes, and written one by one the thousands of
/// warnings of a large policy cost as much as parsing it.
pub(crate) fn print_each(diagnostics: &[Diagnostic]) {
    let mut err = std::io::BufWriter::new(std::io::stderr().lock());
    for diagnostic in diagnostics {
        let _ = write!(err, "{diagnostic}");
    }
    let _ = err.flush();
}

fn check(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let mut json = false;
    let mut lookups = true;
    let mut file = None;
    let mut at = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("json") => json = true,
            Long("no-lookups") => lookups = false,
            Long("at") => at = Some(parser.value()?.string()?),
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    let (path, trust) = policy_source(file);
    let time = match &at {
        Some(text) => check_time(text, &path, trust)?,
        None => now(),
    };
    let directory = SystemDirectory::new();
    let options = LoadOptions {
        trust,
        directory: if lookups {
            Some(&directory as &dyn Directory)
        } else {
            None
        },
        now: Some(time),
        lint: true,
    };
    let loaded = load(&path, &options);
    let valid = loaded.policy.is_some();
    if let Some(code) = refuse_unreadable(&loaded, trust) {
        if json {
            let unreadable = loaded
                .unreadable
                .iter()
                .map(|p| p.display().to_string().into())
                .collect();
            let report = Json::Object(vec![
                ("file", path.display().to_string().into()),
                ("valid", Json::Null),
                ("unreadable", Json::Array(unreadable)),
            ]);
            println!("{report}");
        }
        return Ok(code);
    }
    if json {
        let report = Json::Object(vec![
            ("file", path.display().to_string().into()),
            ("valid", Json::Bool(valid)),
            ("draft", Json::Bool(trust == Trust::Draft)),
            (
                "diagnostics",
                Json::Array(loaded.diagnostics.iter().map(diagnostic_json).collect()),
            ),
        ]);
        println!("{report}");
    } else {
        draft_note(&path, trust);
        print_diagnostics(&loaded);
        if valid {
            println!("{}: OK", path.display());
        } else {
            let errors = loaded.errors().count();
            eprintln!(
                "{}: {errors} error{}; the policy grants nothing",
                path.display(),
                plural(errors)
            );
        }
    }
    // Checked as root and valid: the snapshot newgate uses is brought up to date.
    if valid && trust == Trust::ROOT && nix::unistd::geteuid().is_root() {
        compile::refresh();
    }
    // The process ends next: freeing a large policy rule by rule would only
    // cost time (a twentieth of checking 100,000 rules).
    std::mem::forget(loaded);
    Ok(if valid { 0 } else { 1 })
}

/// `check --at TIME`: an RFC 3339 time, or one without a zone read in the
/// policy's time zone as `explain --at` reads it. The zone comes from a first
/// load; a policy that does not load has none of its own, so the zone is the
/// one a policy without `set timezone` has (its errors are reported next).
fn check_time(text: &str, path: &Path, trust: Trust) -> Result<jiff::Timestamp, Failure> {
    if let Ok(time) = text.parse::<jiff::Timestamp>() {
        return Ok(time);
    }
    let quiet = LoadOptions {
        trust,
        directory: None,
        now: None,
        lint: false,
    };
    let zone = match load(path, &quiet).policy {
        Some(policy) => policy.settings.timezone,
        None => newgate_policy::load_str(
            path,
            "",
            &LoadOptions {
                trust: Trust::Draft,
                ..quiet
            },
        )
        .policy
        .map(|empty| empty.settings.timezone)
        .ok_or_else(|| Failure("--at: cannot find the local time zone".into()))?,
    };
    parse_timestamp(text, &zone).map_err(|why| Failure(format!("--at: {why}")))
}

/// The current time to the second: what a request is decided at.
pub(crate) fn now() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn diagnostic_json(d: &Diagnostic) -> Json {
    let (line, column, source) = match &d.position {
        Some(p) => (
            Json::Number(p.line.into()),
            Json::Number(p.column.into()),
            Json::from(p.source_line.as_str()),
        ),
        None => (Json::Null, Json::Null, Json::Null),
    };
    Json::Object(vec![
        ("severity", d.severity.as_str().into()),
        ("file", d.file.display().to_string().into()),
        ("line", line),
        ("column", column),
        ("message", d.message.as_str().into()),
        ("hint", d.hint.clone().into()),
        ("source_line", source),
    ])
}

/// Loads the policy for `explain` and `list`; diagnostics are printed, errors end the run.
fn load_for_query(file: Option<PathBuf>) -> Result<Policy, u8> {
    let (path, trust) = policy_source(file);
    draft_note(&path, trust);
    let loaded = load(
        &path,
        &LoadOptions {
            trust,
            directory: None,
            now: None,
            lint: false,
        },
    );
    if let Some(code) = refuse_unreadable(&loaded, trust) {
        return Err(code);
    }
    match loaded.policy {
        Some(policy) => Ok(policy),
        None => {
            print_diagnostics(&loaded);
            eprintln!(
                "newgatectl: {}: the policy is invalid and grants nothing",
                path.display()
            );
            Err(EXIT_USAGE)
        }
    }
}

/// The user's groups: from `--member-of` for hypothetical users, else from NSS.
fn user_groups(user: &str, member_of: Option<String>) -> Result<Vec<String>, Failure> {
    if let Some(list) = member_of {
        return Ok(list
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect());
    }
    match groups_of(user).map_err(|why| Failure(why.to_string()))? {
        Some(groups) => Ok(groups.names),
        None => Err(Failure(format!(
            "no user `{user}` on this system; give its groups with --member-of to explain a hypothetical user"
        ))),
    }
}

fn explain(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let (mut policy_file, mut user, mut member_of, mut group, mut as_user) = (None, None, None, None, None);
    let (mut host, mut service, mut at) = (None, None, None);
    let (mut trace, mut json) = (false, false);
    let mut command: Vec<String> = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("policy") => policy_file = Some(PathBuf::from(parser.value()?)),
            Long("user") => user = Some(parser.value()?.string()?),
            Long("member-of") => member_of = Some(parser.value()?.string()?),
            Long("group") => group = Some(parser.value()?.string()?),
            Long("as-user") => as_user = Some(parser.value()?.string()?),
            Long("host") => host = Some(parser.value()?.string()?),
            Long("service") => service = Some(parser.value()?.string()?),
            Long("at") => at = Some(parser.value()?.string()?),
            Long("trace") => trace = true,
            Long("json") => json = true,
            Value(v) => {
                command.push(v.string()?);
                for rest in parser.raw_args()? {
                    command.push(
                        rest.into_string()
                            .map_err(|_| Failure("arguments must be UTF-8".into()))?,
                    );
                }
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let user = user.ok_or_else(|| Failure("explain needs --user".into()))?;
    let groups = user_groups(&user, member_of)?;
    let policy = match load_for_query(policy_file) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let time = match &at {
        Some(text) => parse_timestamp(text, &policy.settings.timezone).map_err(Failure)?,
        None => now(),
    };
    let host = match host {
        Some(h) => h,
        None => host_name().map_err(|why| Failure(why.to_string()))?,
    };
    let service = service.unwrap_or_else(|| "newgate".into());
    let resolved = match command.first() {
        Some(name) => Some(resolve_for_explain(name, &policy)?),
        None => None,
    };
    let args: Vec<String> = command.iter().skip(1).cloned().collect();
    // newgate refuses a second name for an account before it asks the policy;
    // a name unknown here may be meant for another machine.
    let refusals = [
        as_user.as_deref().and_then(|name| target_user(name).err()),
        group.as_deref().and_then(|name| target_group(name).err()),
    ];
    for refusal in refusals.iter().flatten() {
        if !matches!(refusal, TargetError::Unknown(_)) {
            eprintln!("newgatectl: note: newgate refuses this request whatever the policy says: {refusal}");
        }
    }
    let request = Request {
        user: &user,
        groups: &groups,
        target_user: as_user.as_deref(),
        target_group: group.as_deref(),
        command: resolved.as_deref(),
        args: &args,
        host: &host,
        service: &service,
        time,
    };
    let decision = if trace {
        policy.explain(&request)
    } else {
        policy.decide(&request)
    };
    if json {
        println!("{}", decision_json(&decision, &request, &policy));
    } else {
        print_decision(&decision, &request, &policy, trace);
    }
    Ok(match decision.verdict {
        newgate_policy::Verdict::Permit => 0,
        newgate_policy::Verdict::Deny => 1,
    })
}

/// Resolves the command as `newgate` would; an absolute path that is not on
/// this machine is still explained as written, so that a policy can be
/// checked for other hosts.
fn resolve_for_explain(name: &str, policy: &Policy) -> Result<PathBuf, Failure> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    match resolve_command(name, &policy.settings.secure_path, &cwd) {
        Ok(path) => Ok(path),
        Err(ResolveError::NotFound(_)) if name.starts_with('/') => {
            eprintln!("newgatectl: note: {name} is not on this machine; explaining it as written");
            Ok(PathBuf::from(name))
        }
        Err(e) => Err(Failure(e.to_string())),
    }
}

fn describe_request(request: &Request, policy: &Policy) -> String {
    let target = match (request.target_user, request.target_group) {
        (Some(u), Some(g)) => format!("as user {u} group {g}"),
        (None, Some(g)) => format!("as group {g}"),
        (_, None) => format!("as user {}", request.effective_target_user()),
    };
    let command = match request.command {
        Some(path) if request.args.is_empty() => format!("run {}", path.display()),
        Some(path) => format!("run {} {}", path.display(), request.args.join(" ")),
        None => "no command".into(),
    };
    let local = policy.settings.timezone.to_datetime(request.time);
    format!(
        "{} (groups {}) {target}, {command}, on {}, through {}, at {} {}",
        request.user,
        if request.groups.is_empty() {
            "none".into()
        } else {
            request.groups.join(",")
        },
        request.host,
        request.service,
        local.strftime("%a %Y-%m-%d %H:%M"),
        policy.settings.timezone_name
    )
}

fn print_decision(decision: &Decision, request: &Request, policy: &Policy, trace: bool) {
    println!("{}", decision.verdict.as_str());
    println!("  request: {}", describe_request(request, policy));
    match decision.rule {
        Some(rule) => println!("  rule:    {}: {}", rule.location, rule.text),
        None => println!("  rule:    no rule matched; what no rule permits is denied"),
    }
    if decision
        .rule
        .is_some_and(|r| r.action == newgate_policy::Action::Permit)
    {
        println!("  options: {}", decision.options);
    }
    if trace {
        println!("  trace:");
        if decision.trace.is_empty() {
            println!("    (the policy has no permit or deny rules)");
        }
        for step in &decision.trace {
            let mark = match &step.outcome {
                Outcome::Matched if decision.rule.is_some_and(|r| std::ptr::eq(r, step.rule)) => "decides".to_string(),
                Outcome::Matched => "matches, overridden later".to_string(),
                Outcome::Skipped(why) => format!("skipped: {why}"),
            };
            println!("    {}: {}", step.rule.location, step.rule.text);
            println!("      -> {mark}");
        }
    }
}

fn options_json(options: &Options) -> Json {
    let setenv = options
        .setenv
        .iter()
        .map(|c| match c {
            EnvChange::Set(n, v) => Json::Object(vec![("set", n.as_str().into()), ("value", v.as_str().into())]),
            EnvChange::Unset(n) => Json::Object(vec![("unset", n.as_str().into())]),
            EnvChange::Keep(n) => Json::Object(vec![("keep", n.as_str().into())]),
        })
        .collect();
    Json::Object(vec![
        ("nopass", Json::Bool(options.nopass)),
        (
            "persist",
            options.persist.map_or(Json::Null, |d| Json::Number(d.as_secs() as i64)),
        ),
        ("keepenv", Json::Bool(options.keepenv)),
        ("setenv", Json::Array(setenv)),
        (
            "chdir",
            options.chdir.as_ref().map_or(Json::Null, |c| match c {
                newgate_policy::Chdir::Any => Json::Bool(true),
                newgate_policy::Chdir::Matching(pattern) => pattern.as_str().into(),
            }),
        ),
        ("nolog", Json::Bool(options.nolog)),
    ])
}

fn rule_json(rule: &newgate_policy::Rule) -> Json {
    Json::Object(vec![
        ("file", rule.location.file.display().to_string().into()),
        ("line", Json::Number(rule.location.line.into())),
        ("text", rule.text.as_str().into()),
    ])
}

fn decision_json(decision: &Decision, request: &Request, policy: &Policy) -> Json {
    let trace = decision
        .trace
        .iter()
        .map(|step| {
            let (matched, reason) = match &step.outcome {
                Outcome::Matched => (true, Json::Null),
                Outcome::Skipped(why) => (false, why.as_str().into()),
            };
            let deciding = decision.rule.is_some_and(|r| std::ptr::eq(r, step.rule));
            let Json::Object(mut fields) = rule_json(step.rule) else {
                unreachable!("rule_json builds an object")
            };
            fields.extend([
                ("matched", Json::Bool(matched)),
                ("decides", Json::Bool(deciding)),
                ("reason", reason),
            ]);
            Json::Object(fields)
        })
        .collect();
    let request_json = Json::Object(vec![
        ("user", request.user.into()),
        (
            "groups",
            Json::Array(request.groups.iter().map(|g| g.as_str().into()).collect()),
        ),
        ("as_user", request.effective_target_user().into()),
        ("group", request.target_group.into()),
        ("command", request.command.map(|p| p.display().to_string()).into()),
        (
            "args",
            Json::Array(request.args.iter().map(|a| a.as_str().into()).collect()),
        ),
        ("host", request.host.into()),
        ("service", request.service.into()),
        ("time", request.time.to_string().into()),
        ("timezone", policy.settings.timezone_name.as_str().into()),
    ]);
    Json::Object(vec![
        ("decision", decision.verdict.as_str().into()),
        ("rule", decision.rule.map_or(Json::Null, rule_json)),
        ("options", options_json(&decision.options)),
        ("request", request_json),
        ("trace", Json::Array(trace)),
    ])
}

fn list(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let (mut policy_file, mut user, mut member_of) = (None, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("policy") => policy_file = Some(PathBuf::from(parser.value()?)),
            Long("user") => user = Some(parser.value()?.string()?),
            Long("member-of") => member_of = Some(parser.value()?.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let user = user.ok_or_else(|| Failure("list needs --user".into()))?;
    let groups = user_groups(&user, member_of)?;
    let policy = match load_for_query(policy_file) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let rules = policy.rules_for(&user, &groups);
    if rules.is_empty() {
        println!("{user} may not switch to anything: no rule names them or their groups");
        return Ok(0);
    }
    println!(
        "{user} (groups {}):",
        if groups.is_empty() {
            "none".into()
        } else {
            groups.join(",")
        }
    );
    for rule in rules {
        println!("  {}: {}", rule.location, rule.describe());
    }
    if policy
        .rules_for(&user, &groups)
        .iter()
        .any(|r| r.action == newgate_policy::Action::Deny)
    {
        println!("Where rules conflict, the last matching one decides.");
    }
    Ok(0)
}
