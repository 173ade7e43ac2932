//! What a decision says, for each construct of the language.

use std::path::Path;

use jiff::Timestamp;
use newgate_policy::{Action, LoadOptions, Login, Outcome, Policy, Request, Trust, Verdict, load_str};

fn policy(text: &str) -> Policy {
    let loaded = load_str(
        Path::new("/nonexistent/policy"),
        text,
        &LoadOptions {
            trust: Trust::Draft,
            directory: None,
            now: None,
            lint: false,
        },
    );
    for d in &loaded.diagnostics {
        eprint!("{d}");
    }
    loaded.policy.expect("the test policy is valid")
}

/// A request builder with defaults: alice (groups alice, devs), as root, no command,
/// on host web-1 through newgate, on Monday 2026-11-30 at 10:00 UTC.
struct Ask {
    user: &'static str,
    groups: Vec<String>,
    target_user: Option<&'static str>,
    target_group: Option<&'static str>,
    command: Option<&'static str>,
    args: Vec<String>,
    host: &'static str,
    service: &'static str,
    time: Timestamp,
}

fn ask(user: &'static str) -> Ask {
    Ask {
        user,
        groups: vec![user.to_string(), "devs".into()],
        target_user: None,
        target_group: None,
        command: None,
        args: Vec::new(),
        host: "web-1",
        service: "newgate",
        time: "2026-11-30T10:00:00Z".parse().unwrap(),
    }
}

impl Ask {
    fn groups(mut self, groups: &[&str]) -> Ask {
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }
    fn group(mut self, g: &'static str) -> Ask {
        self.target_group = Some(g);
        self
    }
    fn target_user(mut self, u: &'static str) -> Ask {
        self.target_user = Some(u);
        self
    }
    fn run(mut self, command: &'static str, args: &[&str]) -> Ask {
        self.command = Some(command);
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
    fn host(mut self, h: &'static str) -> Ask {
        self.host = h;
        self
    }
    fn service(mut self, s: &'static str) -> Ask {
        self.service = s;
        self
    }
    fn at(mut self, t: &str) -> Ask {
        self.time = t.parse().unwrap();
        self
    }
    fn request(&self) -> Request<'_> {
        Request {
            user: self.user,
            groups: &self.groups,
            target_user: self.target_user,
            target_group: self.target_group,
            command: self.command.map(Path::new),
            args: &self.args,
            host: self.host,
            service: self.service,
            time: self.time,
        }
    }
    /// The verdict and the deciding rule's line; checks that the indexed
    /// decision and the full trace agree.
    fn on(&self, policy: &Policy) -> (Verdict, Option<u32>) {
        let request = self.request();
        let fast = policy.decide(&request);
        let traced = policy.explain(&request);
        assert_eq!(fast.verdict, traced.verdict);
        assert_eq!(fast.rule.map(|r| r.location.line), traced.rule.map(|r| r.location.line));
        (fast.verdict, fast.rule.map(|r| r.location.line))
    }
}

const PERMIT: Verdict = Verdict::Permit;
const DENY: Verdict = Verdict::Deny;

#[test]
fn no_rule_means_deny() {
    let p = policy("permit bob as group docker\n");
    assert_eq!(ask("alice").group("docker").on(&p), (DENY, None));
    let empty = policy("# nothing yet\n");
    assert_eq!(ask("alice").group("docker").on(&empty), (DENY, None));
}

#[test]
fn the_last_matching_rule_decides() {
    let p = policy(
        "permit alice as group *\ndeny alice as group docker\npermit %devs as group docker cmd /usr/bin/docker\n",
    );
    assert_eq!(ask("alice").group("www").on(&p), (PERMIT, Some(1)));
    assert_eq!(ask("alice").group("docker").on(&p), (DENY, Some(2)));
    assert_eq!(
        ask("alice").group("docker").run("/usr/bin/docker", &["ps"]).on(&p),
        (PERMIT, Some(3))
    );
    assert_eq!(
        ask("alice")
            .groups(&["alice"])
            .group("docker")
            .run("/usr/bin/docker", &[])
            .on(&p),
        (DENY, Some(2))
    );
}

#[test]
fn subjects_users_groups_aliases_and_anyone() {
    let p = policy(
        "users ADMINS = alice, %wheel\nusers ALL_ADMINS = ADMINS, root\n\
         permit ALL_ADMINS as group adm\npermit * as group users\npermit \"ADMINS\" as group odd\n",
    );
    assert_eq!(ask("alice").group("adm").on(&p).0, PERMIT);
    assert_eq!(ask("root").groups(&["root"]).group("adm").on(&p).0, PERMIT);
    assert_eq!(ask("bob").groups(&["bob", "wheel"]).group("adm").on(&p).0, PERMIT);
    assert_eq!(ask("bob").groups(&["bob"]).group("adm").on(&p).0, DENY);
    assert_eq!(ask("anybody").groups(&[]).group("users").on(&p).0, PERMIT);
    // A quoted word is a name, never an alias.
    assert_eq!(ask("ADMINS").groups(&[]).group("odd").on(&p).0, PERMIT);
    assert_eq!(ask("alice").group("odd").on(&p).0, DENY);
}

#[test]
fn group_targets_keep_the_caller() {
    let p = policy("groups BUILD = builders, ci\npermit alice as group BUILD\n");
    assert_eq!(ask("alice").group("ci").on(&p).0, PERMIT);
    assert_eq!(ask("alice").group("www").on(&p).0, DENY);
    // Naming oneself with -u is still "stay yourself".
    assert_eq!(ask("alice").target_user("alice").group("ci").on(&p).0, PERMIT);
    assert_eq!(ask("alice").target_user("bob").group("ci").on(&p).0, DENY);
    // `as group` never lets the caller become root.
    assert_eq!(ask("alice").on(&p).0, DENY);
}

#[test]
fn user_targets_and_the_root_default() {
    let p =
        policy("permit alice as user deploy, root\npermit bob as user postgres group dba\npermit carol as user *\n");
    assert_eq!(ask("alice").target_user("deploy").on(&p).0, PERMIT);
    assert_eq!(ask("alice").on(&p), (PERMIT, Some(1)), "no -u and no -g means root");
    assert_eq!(ask("alice").target_user("deploy").group("www").on(&p).0, DENY);
    assert_eq!(ask("bob").target_user("postgres").group("dba").on(&p).0, PERMIT);
    assert_eq!(ask("bob").target_user("postgres").on(&p).0, DENY);
    assert_eq!(ask("carol").target_user("anyone").on(&p).0, PERMIT);
    assert_eq!(ask("carol").group("x").on(&p).0, DENY);
}

#[test]
fn commands_globs_and_arguments() {
    let p = policy(
        "commands PKG = /usr/bin/apt, /usr/bin/dpkg\n\
         permit alice as user root cmd /usr/local/bin/*\n\
         permit alice as user root cmd PKG args update\n\
         permit alice as user root cmd /usr/bin/id args\n\
         permit alice as user root cmd /usr/bin/systemctl args restart *\n\
         permit alice as user root cmd /usr/bin/echo args \"*\"\n",
    );
    assert_eq!(ask("alice").run("/usr/local/bin/tool", &["-x"]).on(&p).0, PERMIT);
    assert_eq!(ask("alice").run("/usr/local/bin/sub/tool", &[]).on(&p).0, DENY);
    assert_eq!(ask("alice").run("/usr/bin/dpkg", &["update"]).on(&p).0, PERMIT);
    assert_eq!(ask("alice").run("/usr/bin/apt", &["install", "x"]).on(&p).0, DENY);
    assert_eq!(ask("alice").run("/usr/bin/id", &[]).on(&p).0, PERMIT);
    assert_eq!(
        ask("alice").run("/usr/bin/id", &["-u"]).on(&p).0,
        DENY,
        "bare `args` means none"
    );
    assert_eq!(ask("alice").run("/usr/bin/systemctl", &["restart"]).on(&p).0, PERMIT);
    assert_eq!(
        ask("alice")
            .run("/usr/bin/systemctl", &["restart", "nginx", "x"])
            .on(&p)
            .0,
        PERMIT
    );
    assert_eq!(
        ask("alice").run("/usr/bin/systemctl", &["stop", "nginx"]).on(&p).0,
        DENY
    );
    assert_eq!(
        ask("alice").run("/usr/bin/echo", &["*"]).on(&p).0,
        PERMIT,
        "a quoted * is literal"
    );
    assert_eq!(ask("alice").run("/usr/bin/echo", &["hi"]).on(&p).0, DENY);
    // A rule with `cmd` never permits a request without a command (a login shell through su).
    assert_eq!(ask("alice").on(&p).0, DENY);
}

#[test]
fn hosts_and_services() {
    let p = policy(
        "hosts WEB = web-*, db1.example.com\npermit alice as user root on WEB\npermit bob as user root service su,login\n",
    );
    assert_eq!(ask("alice").host("web-7").on(&p).0, PERMIT);
    assert_eq!(ask("alice").host("DB1.Example.com").on(&p).0, PERMIT);
    assert_eq!(ask("alice").host("mail").on(&p).0, DENY);
    assert_eq!(ask("bob").service("su").on(&p).0, PERMIT);
    assert_eq!(ask("bob").service("newgate").on(&p).0, DENY);
}

#[test]
fn when_and_until_in_the_policy_time_zone() {
    let p = policy(
        "set timezone = \"Europe/Berlin\"\n\
         permit alice as group audit when Mon-Fri 09:00-17:00 until 2026-12-31\n\
         permit bob as group night when 22:00-06:00\n\
         permit carol as group weekend when Sat,Sun\n",
    );
    // 08:30 UTC is 09:30 in Berlin (winter time).
    assert_eq!(ask("alice").group("audit").at("2026-11-30T08:30:00Z").on(&p).0, PERMIT);
    assert_eq!(ask("alice").group("audit").at("2026-11-30T07:30:00Z").on(&p).0, DENY);
    assert_eq!(
        ask("alice").group("audit").at("2026-11-29T10:00:00Z").on(&p).0,
        DENY,
        "Sunday"
    );
    // until a bare date lasts to the end of that day, Berlin time.
    assert_eq!(ask("alice").group("audit").at("2026-12-31T15:59:00Z").on(&p).0, PERMIT);
    assert_eq!(ask("alice").group("audit").at("2027-01-01T08:30:00Z").on(&p).0, DENY);
    assert_eq!(ask("bob").group("night").at("2026-11-30T22:30:00Z").on(&p).0, PERMIT);
    assert_eq!(ask("bob").group("night").at("2026-11-30T04:00:00Z").on(&p).0, PERMIT);
    assert_eq!(ask("bob").group("night").at("2026-11-30T12:00:00Z").on(&p).0, DENY);
    assert_eq!(
        ask("carol").group("weekend").at("2026-12-05T12:00:00Z").on(&p).0,
        PERMIT
    );
    assert_eq!(ask("carol").group("weekend").at("2026-12-04T12:00:00Z").on(&p).0, DENY);
}

#[test]
fn set_persist_is_the_default_of_every_permit_that_asks_for_a_password() {
    let p = policy(
        "set persist = 15m\n\
         permit alice as group a\n\
         permit persist=0 alice as group b\n\
         permit persist=1h alice as group c\n\
         permit nopass alice as group d\n",
    );
    let persist = |g| {
        let a = ask("alice").group(g);
        p.decide(&a.request()).options.persist.map(|d| d.as_secs())
    };
    assert_eq!(persist("a"), Some(900), "a rule without `persist` takes `set persist`");
    assert_eq!(persist("b"), None, "`persist=0` asks every time");
    assert_eq!(persist("c"), Some(3600));
    assert_eq!(persist("d"), None, "`nopass` never asks, so nothing is remembered");
    let without = policy("permit alice as group a\npermit persist alice as group b\n");
    let a = ask("alice").group("a");
    assert_eq!(
        without.decide(&a.request()).options.persist,
        None,
        "without `set persist`, doas's way"
    );
    let b = ask("alice").group("b");
    assert_eq!(
        without.decide(&b.request()).options.persist.map(|d| d.as_secs()),
        Some(300)
    );
}

#[test]
fn chdir_says_which_folders_the_command_may_start_in() {
    let p = policy(
        "permit nopass alice as group a\n\
         permit nopass chdir alice as group b\n\
         permit nopass chdir=/srv/* alice as group c\n",
    );
    let chdir = |g| {
        let a = ask("alice").group(g);
        p.decide(&a.request()).options.chdir
    };
    assert_eq!(chdir("a"), None);
    assert!(chdir("b").is_some_and(|c| c.allows("/etc")));
    let c = chdir("c").expect("chdir=/srv/*");
    assert!(c.allows("/srv/www"));
    assert!(!c.allows("/srv/www/deeper") && !c.allows("/srv") && !c.allows("/etc"));
    assert_eq!(c.to_string(), "chdir=/srv/*");
}

#[test]
fn options_of_the_deciding_rule_are_in_force() {
    let p = policy(
        "set persist = 10m\n\
         permit persist alice as group a\n\
         permit persist=1h30m alice as group b\n\
         permit nopass keepenv nolog setenv { EDITOR=vi -HOME LANG } alice as group c\n\
         deny alice as group d\n",
    );
    let persist = |g| {
        let a = ask("alice").group(g);
        p.decide(&a.request()).options.persist.map(|d| d.as_secs())
    };
    assert_eq!(persist("a"), Some(600), "persist without a value takes `set persist`");
    assert_eq!(persist("b"), Some(5400));
    let a = ask("alice").group("c");
    let options = p.decide(&a.request()).options;
    assert!(options.nopass && options.keepenv && options.nolog && options.persist.is_none());
    assert_eq!(options.setenv.len(), 3);
    let d = ask("alice").group("d");
    assert_eq!(
        p.decide(&d.request()).options,
        Default::default(),
        "a denial carries no options"
    );
}

#[test]
fn the_trace_says_why_each_rule_did_not_match() {
    let p = policy(
        "permit bob as group docker\npermit alice as group www\npermit alice as group docker on db-*\n\
         permit alice as group docker service su\npermit alice as group docker cmd /usr/bin/docker\n\
         permit alice as group docker\ndeny alice as group docker until 2026-01-01\n",
    );
    let a = ask("alice").group("docker").run("/usr/bin/id", &[]);
    let decision = p.explain(&a.request());
    let reasons: Vec<String> = decision
        .trace
        .iter()
        .map(|s| match &s.outcome {
            Outcome::Matched => "matched".into(),
            Outcome::Skipped(why) => why.clone(),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "not for alice",
            "not as group docker",
            "not on host web-1",
            "not through service newgate",
            "not for command /usr/bin/id",
            "matched",
            "expired: until 2026-01-01",
        ]
    );
    assert_eq!(decision.verdict, PERMIT);
    assert_eq!(decision.rule.unwrap().location.line, 6);
    assert_eq!(decision.rule.unwrap().text, "permit alice as group docker");
}

#[test]
fn grants_follow_the_last_grant_or_deny_for_each_group() {
    let p = policy(
        "grant %interns group printers, scanners service login\n\
         grant alice group audio\n\
         deny alice as group scanners\n\
         deny alice as group audio cmd /usr/bin/x\n\
         permit alice as group video\n",
    );
    let groups = vec!["alice".to_string(), "interns".to_string()];
    let login = |service| Login {
        user: "alice",
        groups: &groups,
        host: "ws1",
        service,
        time: "2026-11-30T10:00:00Z".parse().unwrap(),
    };
    let granted = |service| -> Vec<String> {
        let mut g: Vec<String> = p.grants(&login(service)).into_iter().map(|g| g.group).collect();
        g.sort();
        g
    };
    assert_eq!(
        granted("login"),
        ["audio", "printers"],
        "deny removes scanners; a deny for a command does not"
    );
    assert_eq!(granted("sshd"), ["audio"]);
    // Grant rules never decide a switch.
    assert_eq!(
        ask("alice")
            .group("printers")
            .groups(&["alice", "interns"])
            .service("login")
            .on(&p)
            .0,
        DENY
    );
    assert!(p.rules().iter().any(|r| r.action == Action::Grant));
}

#[test]
fn rule_text_joins_continued_lines() {
    let p = policy("permit alice \\\n    as group docker \\\n    cmd /usr/bin/docker # why\n");
    assert_eq!(p.rules()[0].text, "permit alice as group docker cmd /usr/bin/docker");
    assert_eq!(p.rules()[0].location.line, 1);
}

#[test]
fn rule_text_keeps_a_final_quote() {
    let p = policy("permit alice as group \"docker\"  # why\npermit bob as user root cmd /bin/echo args \"a b\"\n");
    assert_eq!(p.rules()[0].text, "permit alice as group \"docker\"");
    assert_eq!(p.rules()[1].text, "permit bob as user root cmd /bin/echo args \"a b\"");
}

#[test]
fn settings_have_defaults_and_later_ones_win() {
    let p = policy("set passwd_tries = 5\nset passwd_tries = 2\nset secure_path = \"/bin:/usr/bin\"\n");
    assert_eq!(p.settings.passwd_tries, 2);
    assert_eq!(p.settings.secure_path, [Path::new("/bin"), Path::new("/usr/bin")]);
    let d = policy("");
    assert_eq!(d.settings.passwd_tries, 3);
    assert_eq!(d.settings.persist.as_secs(), 300);
    assert_eq!(d.settings.umask, 0o022);
    assert_eq!(d.settings.audit, newgate_policy::Audit::BestEffort);
    let set = policy("set umask = 077\nset audit = off\n");
    assert_eq!(set.settings.umask, 0o077);
    assert_eq!(set.settings.audit, newgate_policy::Audit::Off);
}

#[test]
fn describe_speaks_plainly() {
    let p = policy(
        "permit nopass alice as group docker cmd /usr/bin/docker args ps *\n\
         deny alice as user root on web-* when Mon-Fri 09:00-17:00\ngrant alice group printers\n",
    );
    let words: Vec<String> = p.rules().iter().map(|r| r.describe()).collect();
    assert_eq!(
        words,
        [
            "may run /usr/bin/docker with arguments starting `ps` as group docker, without a password",
            "may not run any command as user root, on web-*, when Mon-Fri 09:00-17:00",
            "is given group printers at login",
        ]
    );
}

#[test]
fn permits_something_asks_for_a_permit_of_the_user_whatever_denies_it_later() {
    let p = policy(
        "permit %ops as group docker when Mon 09:00-10:00\n\
         deny alice as group docker\n\
         grant bob group printers\n\
         deny carol as user root\n",
    );
    let groups = |list: &[&str]| list.iter().map(|g| g.to_string()).collect::<Vec<_>>();
    assert!(p.permits_something("alice", &groups(&["alice", "ops"])));
    assert!(!p.permits_something("alice", &groups(&["alice"])));
    assert!(
        !p.permits_something("bob", &groups(&["bob"])),
        "a grant is not a permit"
    );
    assert!(!p.permits_something("carol", &groups(&["carol"])));
}
