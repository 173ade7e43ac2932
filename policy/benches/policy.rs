//! Benchmarks of the policy engine at 10, 1,000, 10,000 and 100,000 rules:
//!
//! - `parse_compile/enforcing/N`: `load_str` as the enforcing programs load
//!   (no lint); `parse_compile/lint/N`: with the warnings `newgatectl check` computes.
//! - `decide/permit/N`: one decision found by a rule in the middle of the policy;
//!   `decide/deny_no_match/N`: one decision that no rule matches (every candidate is tried).
//!
//! The policies come from a deterministic generator below (a seeded splitmix64,
//! so every run and every machine measures the same text). The setup checks that
//! each policy loads without errors and that the decisions are the expected ones,
//! so that a broken generator cannot be measured silently.
//! Set `NEWGATE_BENCH_DUMP=FOLDER` to also write each generated policy there
//! (`FOLDER/policy-1000`, ...), e.g. to read it or run `newgatectl check` on it.
//! Targets and results: docs/performance.md.

use std::cell::OnceCell;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use newgate_policy::{LoadOptions, Loaded, Policy, Request, Trust, Verdict, load_str, snapshot};

/// The numbers of rules (`permit`, `deny` and `grant` lines) benchmarked.
const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

// ---------------------------------------------------------------------------
// A tiny deterministic PRNG: splitmix64.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with a probability of `p` percent.
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------
// The generator.

const FIRST_NAMES: [&str; 16] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil",
];
const TEAMS: [&str; 8] = ["dev", "ops", "qa", "data", "web", "sec", "ml", "infra"];
/// Groups of administrators: the only subjects of rules without `cmd` that reach
/// root or any user. The benchmarked user is in none of them.
const ADMIN_GROUPS: [&str; 3] = ["wheel", "sre", "admins"];
/// Rules for `*` (anyone) are few in a real policy however long it is (every
/// decision looks at all of them): this many, evenly spaced (2 in a tiny policy).
const ANYONE_RULES: usize = 8;
const SERVICE_ACCOUNTS: [&str; 10] = [
    "postgres", "www-data", "deploy", "backup", "nginx", "redis", "jenkins", "grafana", "kafka", "elastic",
];
const SYSTEM_GROUPS: [&str; 7] = [
    "docker",
    "adm",
    "systemd-journal",
    "www-data",
    "audit",
    "printers",
    "lpadmin",
];
/// Commands of the rules. None of them matches `/usr/sbin/reboot`, the command
/// of the request that no rule permits.
const COMMANDS: [&str; 24] = [
    "/usr/bin/systemctl",
    "/usr/bin/journalctl",
    "/usr/bin/docker",
    "/usr/bin/podman",
    "/usr/bin/psql",
    "/usr/bin/pg_dump",
    "/usr/bin/apt",
    "/usr/bin/apt-get",
    "/usr/bin/dpkg",
    "/usr/sbin/nginx",
    "/usr/bin/rsync",
    "/usr/bin/tar",
    "/usr/bin/kubectl",
    "/usr/bin/git",
    "/usr/bin/tail",
    "/usr/bin/less",
    "/usr/sbin/iptables",
    "/usr/sbin/ip",
    "/usr/bin/mount",
    "/usr/bin/crontab",
    "/usr/local/bin/deploy",
    "/usr/local/bin/backup-*",
    "/opt/app*/bin/ctl",
    "/usr/bin/python3.[0-9]*",
];
const VERBS: [&str; 8] = ["restart", "status", "reload", "start", "stop", "logs", "ps", "exec"];
const HOSTS: [&str; 6] = [
    "web-*",
    "db[0-9]*.example.com",
    "build-??",
    "*.staging.example.com",
    "bastion.example.com",
    "app-*.prod.example.com",
];
const SERVICES: [&str; 4] = ["su", "sshd", "newgate,su", "login"];
const WHENS: [&str; 5] = [
    "Mon-Fri 09:00-17:00",
    "Mon-Fri 08:00-18:00",
    "Sat,Sun",
    "22:00-06:00",
    "Mon-Fri 07:00-19:00,20:00-22:00",
];
/// Mostly in the future of the benchmarked requests (2026-03-11); one has passed.
const UNTILS: [&str; 5] = [
    "2027-12-31",
    "2030-06-30T18:00",
    "2028-01-15",
    "2029-09-30T12:00",
    "2025-01-31",
];

/// The benchmarked requests' moment: Wednesday 2026-03-11, 11:30 in Berlin.
const REQUEST_TIME: &str = "2026-03-11T10:30:00Z";
const REQUEST_HOST: &str = "ws-0042.corp.example.com";

/// A generated policy, and the requests the decision benchmarks ask it.
struct Generated {
    text: String,
    rules: usize,
    users: usize,
    groups: usize,
    aliases: usize,
    /// The benchmarked user, and the groups `getgrouplist` would report for them.
    bench_user: String,
    bench_groups: Vec<String>,
}

struct Generator {
    rng: Rng,
    out: String,
    users: usize,
    groups: usize,
    /// Aliases of each kind: `TEAM_k` (users), `GRP_k`, `HOSTS_k`, `CMDS_k`.
    aliases: usize,
    /// Service accounts `svcK` on top of [`SERVICE_ACCOUNTS`].
    extra_accounts: usize,
    /// Apps `appK` that arguments name.
    apps: usize,
}

fn user_name(i: usize) -> String {
    format!("{}{i}", FIRST_NAMES[i % FIRST_NAMES.len()])
}

fn group_name(i: usize) -> String {
    format!("{}-{i}", TEAMS[i % TEAMS.len()])
}

/// Removes repeated items, keeping the first of each.
fn dedup<T: PartialEq>(items: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    *items = kept;
}

/// Writes a policy with `rules` rules, the same text for the same arguments.
fn generate(rules: usize, seed: u64) -> Generated {
    let mut g = Generator {
        rng: Rng(seed),
        out: String::with_capacity(rules * 90 + 4096),
        users: (rules / 4).max(8),
        groups: (rules / 40).max(4),
        aliases: (rules / 200).max(1),
        extra_accounts: (rules / 100).max(4),
        apps: (rules / 50).max(4),
    };
    let bench = g.users / 2;
    let bench_user = user_name(bench);
    let mut bench_groups = vec!["staff".to_string()];
    for step in [0, 7, 13] {
        let name = group_name((bench * 3 + step) % g.groups);
        if !bench_groups.contains(&name) {
            bench_groups.push(name);
        }
    }

    g.header(rules);
    g.aliases_section();
    g.out.push_str("\n# Rules: the last matching rule decides.\n");
    // The benchmarked user's own rules stand at a quarter, a half and three
    // quarters of the policy, between the generated ones.
    let own = [rules / 4, rules / 2, rules * 3 / 4];
    let anyone_step = (rules / ANYONE_RULES).max(5);
    for r in 0..rules {
        if r > 0 && r % 40 == 0 {
            let _ = writeln!(g.out, "\n# {} team, block {}", TEAMS[(r / 40) % TEAMS.len()], r / 40);
        }
        if r == own[0] {
            let _ = writeln!(
                g.out,
                "deny   {bench_user} as user reporting cmd /usr/bin/psql args -d prod"
            );
        } else if r == own[1] {
            let _ = writeln!(
                g.out,
                "permit persist {bench_user} as user reporting when Mon-Fri 08:00-19:00 cmd /usr/bin/psql args -d prod"
            );
        } else if r == own[2] {
            let _ = writeln!(
                g.out,
                "permit nopass {bench_user} as group docker cmd /usr/bin/docker args ps"
            );
        } else {
            g.rule(r % anyone_step == anyone_step / 2 + 1);
        }
    }
    Generated {
        text: g.out,
        rules,
        users: g.users,
        groups: g.groups,
        aliases: g.aliases * 4,
        bench_user,
        bench_groups,
    }
}

impl Generator {
    fn header(&mut self, rules: usize) {
        let _ = writeln!(self.out, "# Generated benchmark policy: {rules} rules.");
        self.out.push_str(concat!(
            "set persist      = 5m\n",
            "set secure_path  = \"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n",
            "set log_format   = json\n",
            "set passwd_tries = 3\n",
            "set timezone     = \"Europe/Berlin\"\n",
            "set audit        = best-effort\n",
            "set env_keep     = \"LANG LC_ALL TZ\"\n",
            "\n",
        ));
    }

    fn aliases_section(&mut self) {
        self.out.push_str("# Aliases\n");
        for k in 0..self.aliases {
            let mut items = Vec::new();
            for _ in 0..3 + self.rng.below(6) {
                items.push(if self.rng.percent(80) {
                    user_name(self.rng.below(self.users))
                } else {
                    format!("%{}", group_name(self.rng.below(self.groups)))
                });
            }
            if k > 0 && self.rng.percent(10) {
                items.push(format!("TEAM_{}", self.rng.below(k)));
            }
            dedup(&mut items);
            let _ = writeln!(self.out, "users    TEAM_{k} = {}", items.join(", "));
        }
        for k in 0..self.aliases {
            let mut items: Vec<String> = (0..2 + self.rng.below(4)).map(|_| self.target_group()).collect();
            dedup(&mut items);
            let _ = writeln!(self.out, "groups   GRP_{k} = {}", items.join(", "));
        }
        for k in 0..self.aliases {
            let mut items: Vec<String> = (0..1 + self.rng.below(3))
                .map(|_| self.rng.pick(&HOSTS).to_string())
                .collect();
            items.push(format!("host{k}.example.com"));
            dedup(&mut items);
            let _ = writeln!(self.out, "hosts    HOSTS_{k} = {}", items.join(", "));
        }
        for k in 0..self.aliases {
            let mut items: Vec<&str> = (0..2 + self.rng.below(4)).map(|_| *self.rng.pick(&COMMANDS)).collect();
            dedup(&mut items);
            let _ = writeln!(self.out, "commands CMDS_{k} = {}", items.join(", "));
        }
    }

    fn target_group(&mut self) -> String {
        if self.rng.percent(30) {
            self.rng.pick(&SYSTEM_GROUPS).to_string()
        } else {
            group_name(self.rng.below(self.groups))
        }
    }

    fn account(&mut self) -> String {
        if self.rng.percent(60) {
            self.rng.pick(&SERVICE_ACCOUNTS).to_string()
        } else {
            format!("svc{}", self.rng.below(self.extra_accounts))
        }
    }

    fn subject(&mut self) -> String {
        match self.rng.below(100) {
            0..60 => user_name(self.rng.below(self.users)),
            60..85 => format!("%{}", group_name(self.rng.below(self.groups))),
            85..97 => format!("TEAM_{}", self.rng.below(self.aliases)),
            _ => {
                let (a, b) = (self.rng.below(self.users), self.rng.below(self.groups));
                format!("{}, %{}", user_name(a), group_name(b))
            }
        }
    }

    /// One generated rule, on one line (or two, joined by `\`); for `*` when `anyone`.
    fn rule(&mut self, anyone: bool) {
        let roll = self.rng.below(1000);
        let mut line = String::with_capacity(128);
        if anyone {
            // Anyone: a few harmless commands.
            let _ = write!(
                line,
                "permit nopass * as user {} cmd {} args status",
                self.account(),
                self.rng.pick(&COMMANDS)
            );
        } else if roll < 20 {
            // `grant`: groups at login.
            let subjects = self.subject();
            let groups = if self.rng.percent(30) {
                format!("GRP_{}", self.rng.below(self.aliases))
            } else {
                self.target_group()
            };
            let _ = write!(line, "grant  {subjects} group {groups}");
            if self.rng.percent(50) {
                line.push_str(" service sshd,login");
            }
            if self.rng.percent(30) {
                line.push_str(" when Mon-Fri 08:00-18:00");
            }
        } else if roll < 35 {
            // Administrators: any command, as root or anyone, sometimes on some hosts only.
            let admin = self.rng.pick(&ADMIN_GROUPS);
            let option = if self.rng.percent(50) { "persist " } else { "" };
            let target = *self.rng.pick(&["user *", "user root", "group *"]);
            let _ = write!(line, "permit {option}%{admin} as {target}");
            if self.rng.percent(30) {
                let _ = write!(line, " on HOSTS_{}", self.rng.below(self.aliases));
            }
        } else {
            let deny = roll >= 850;
            line.push_str(if deny { "deny   " } else { "permit " });
            if !deny {
                line.push_str(match self.rng.below(100) {
                    0..10 => "persist ",
                    10..15 => "persist=15m ",
                    15..23 => "nopass ",
                    23..25 => "keepenv ",
                    25..27 => "nolog ",
                    27..28 => "setenv { EDITOR=vi -HOME } ",
                    _ => "",
                });
            }
            line.push_str(&self.subject());
            let (target, needs_command) = match self.rng.below(100) {
                0..40 => (format!("user {}", self.account()), false),
                40..45 => (format!("user {},{}", self.account(), self.account()), false),
                45..65 => (format!("group {}", self.target_group()), false),
                65..75 => (format!("group GRP_{}", self.rng.below(self.aliases)), false),
                75..85 => (format!("user {} group {}", self.account(), self.target_group()), false),
                _ => ("user root".to_string(), true),
            };
            let _ = write!(line, " as {target}");
            self.conditions(&mut line);
            if needs_command || self.rng.percent(65) {
                if self.rng.percent(1) {
                    line.push_str(" \\\n      ");
                }
                self.command(&mut line);
            }
        }
        self.out.push_str(&line);
        self.out.push('\n');
    }

    fn conditions(&mut self, line: &mut String) {
        if self.rng.percent(12) {
            if self.rng.percent(50) {
                let _ = write!(line, " on HOSTS_{}", self.rng.below(self.aliases));
            } else {
                let _ = write!(line, " on {}", self.rng.pick(&HOSTS));
            }
        }
        if self.rng.percent(8) {
            let _ = write!(line, " service {}", self.rng.pick(&SERVICES));
        }
        if self.rng.percent(8) {
            let _ = write!(line, " when {}", self.rng.pick(&WHENS));
        }
        if self.rng.percent(6) {
            let _ = write!(line, " until {}", self.rng.pick(&UNTILS));
        }
    }

    fn command(&mut self, line: &mut String) {
        if self.rng.percent(20) {
            let _ = write!(line, " cmd CMDS_{}", self.rng.below(self.aliases));
        } else {
            let _ = write!(line, " cmd {}", self.rng.pick(&COMMANDS));
        }
        match self.rng.below(100) {
            0..50 => {}
            50..60 => line.push_str(" args"),
            60..85 => {
                let _ = write!(line, " args {} app{}", self.rng.pick(&VERBS), self.rng.below(self.apps));
            }
            _ => {
                let _ = write!(line, " args {} *", self.rng.pick(&VERBS));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Fixtures: generated and loaded once per size, on first use, so that a
// filtered run (`cargo bench -p newgate-policy -- decide/permit/10`) builds
// only what it measures.

struct Fixture {
    generated: Generated,
    policy: Policy,
}

#[derive(Default)]
struct Fixtures {
    loaded: [OnceCell<Fixture>; SIZES.len()],
    /// The number of warnings with `lint: true`, once that load has been checked.
    linted: [OnceCell<usize>; SIZES.len()],
}

const PATH: &str = "/bench/policy";

fn options(lint: bool) -> LoadOptions<'static> {
    LoadOptions {
        trust: Trust::Draft,
        directory: None,
        now: None,
        lint,
    }
}

fn slot(rules: usize) -> usize {
    SIZES.iter().position(|&s| s == rules).expect("a benchmarked size")
}

/// Fails the benchmark, showing the first diagnostics, when the policy has errors.
fn assert_loads(loaded: &Loaded, rules: usize, lint: bool) {
    let errors: Vec<String> = loaded.errors().take(5).map(ToString::to_string).collect();
    assert!(
        errors.is_empty() && loaded.policy.is_some(),
        "the generated {rules}-rule policy (lint: {lint}) does not load:\n{}",
        errors.join("")
    );
}

impl Fixtures {
    /// The generated policy, loaded as the enforcing programs load it, with
    /// both benchmarked decisions checked.
    fn get(&self, rules: usize) -> &Fixture {
        self.loaded[slot(rules)].get_or_init(|| {
            let generated = generate(rules, 0x6e65_7767_6174_6500 ^ rules as u64);
            if let Some(folder) = std::env::var_os("NEWGATE_BENCH_DUMP") {
                let path = Path::new(&folder).join(format!("policy-{rules}"));
                std::fs::write(&path, &generated.text).expect("NEWGATE_BENCH_DUMP names a writable folder");
            }
            let started = Instant::now();
            let loaded = load_str(Path::new(PATH), &generated.text, &options(false));
            let elapsed = started.elapsed();
            assert_loads(&loaded, rules, false);
            let policy = loaded.policy.expect("checked above");
            assert_eq!(
                policy.rules().len(),
                rules,
                "the generator writes exactly {rules} rules"
            );
            let fixture = Fixture { generated, policy };
            fixture.check_decisions();
            let g = &fixture.generated;
            eprintln!(
                "policy of {rules} rules: {} bytes, {} lines, {} users, {} groups, {} aliases; \
                 {} rules concern {} (groups {}); one load took {elapsed:.2?}",
                g.text.len(),
                g.text.lines().count(),
                g.users,
                g.groups,
                g.aliases,
                fixture.policy.rules_for(&g.bench_user, &g.bench_groups).len(),
                g.bench_user,
                g.bench_groups.join(","),
            );
            fixture
        })
    }

    /// Checks once that the policy also loads with `lint: true`.
    fn check_lint(&self, rules: usize) {
        self.linted[slot(rules)].get_or_init(|| {
            let text = &self.get(rules).generated.text;
            let started = Instant::now();
            let loaded = load_str(Path::new(PATH), text, &options(true));
            let elapsed = started.elapsed();
            assert_loads(&loaded, rules, true);
            let warnings = loaded.warnings().count();
            eprintln!("policy of {rules} rules with lint: {warnings} warnings; one load took {elapsed:.2?}");
            warnings
        });
    }
}

/// The two benchmarked requests.
#[derive(Clone, Copy)]
enum Ask {
    /// `psql -d prod` as `reporting`: permitted by the rule in the middle of the policy.
    Permit,
    /// `reboot` as root: no rule matches, so every candidate rule is tried.
    DenyNoMatch,
}

/// What a [`Request`] borrows.
struct Owned {
    args: Vec<String>,
    time: Timestamp,
}

impl Ask {
    fn owned(self) -> Owned {
        let args = match self {
            Ask::Permit => vec!["-d".to_string(), "prod".to_string()],
            Ask::DenyNoMatch => Vec::new(),
        };
        Owned {
            args,
            time: REQUEST_TIME.parse().expect("a valid timestamp"),
        }
    }

    fn request<'a>(self, g: &'a Generated, owned: &'a Owned) -> Request<'a> {
        let (target_user, command) = match self {
            Ask::Permit => ("reporting", "/usr/bin/psql"),
            Ask::DenyNoMatch => ("root", "/usr/sbin/reboot"),
        };
        Request {
            user: &g.bench_user,
            groups: &g.bench_groups,
            target_user: Some(target_user),
            target_group: None,
            command: Some(Path::new(command)),
            args: &owned.args,
            host: REQUEST_HOST,
            service: "newgate",
            time: owned.time,
        }
    }
}

impl Fixture {
    fn check_decisions(&self) {
        let g = &self.generated;
        let owned = Ask::Permit.owned();
        let decision = self.policy.decide(&Ask::Permit.request(g, &owned));
        let rule = decision.rule.map_or("no rule", |r| r.text.as_str());
        assert_eq!(
            decision.verdict,
            Verdict::Permit,
            "{} rules: decided by {rule}",
            g.rules
        );
        assert!(
            rule.starts_with("permit persist ") && rule.contains("as user reporting"),
            "{rule}"
        );
        assert_eq!(decision.options.persist, Some(Duration::from_secs(300)));

        let owned = Ask::DenyNoMatch.owned();
        let decision = self.policy.decide(&Ask::DenyNoMatch.request(g, &owned));
        assert_eq!(decision.verdict, Verdict::Deny);
        assert!(
            decision.rule.is_none(),
            "{} rules: expected no matching rule, found {}",
            g.rules,
            decision.rule.map_or("", |r| r.text.as_str())
        );
    }
}

// ---------------------------------------------------------------------------
// The benchmarks.

fn parse_compile(c: &mut Criterion, fixtures: &Fixtures) {
    let mut group = c.benchmark_group("parse_compile");
    for rules in SIZES {
        if rules >= 100_000 {
            // One load may take long: the fewest samples criterion accepts.
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .measurement_time(Duration::from_secs(10));
        } else {
            group
                .sample_size(30)
                .sampling_mode(SamplingMode::Auto)
                .measurement_time(Duration::from_secs(4));
        }
        group.throughput(Throughput::Elements(rules as u64));
        for (name, lint) in [("enforcing", false), ("lint", true)] {
            group.bench_function(BenchmarkId::new(name, rules), |b| {
                let text = &fixtures.get(rules).generated.text;
                if lint {
                    fixtures.check_lint(rules);
                }
                b.iter(|| load_str(Path::new(PATH), black_box(text), &options(lint)));
            });
        }
    }
    group.finish();
}

fn decide(c: &mut Criterion, fixtures: &Fixtures) {
    let mut group = c.benchmark_group("decide");
    group.measurement_time(Duration::from_secs(3));
    for rules in SIZES {
        for (name, ask) in [("permit", Ask::Permit), ("deny_no_match", Ask::DenyNoMatch)] {
            group.bench_function(BenchmarkId::new(name, rules), |b| {
                let fixture = fixtures.get(rules);
                let owned = ask.owned();
                let request = ask.request(&fixture.generated, &owned);
                b.iter(|| fixture.policy.decide(black_box(&request)).verdict);
            });
        }
    }
    group.finish();
}

/// What the runner does instead of parsing when the compiled snapshot
/// matches: `Snapshot::open` (the header and the record read and checked,
/// every input checked again: the policy file hashed with its ownership
/// checks, the time-zone files) and `policy_for` the benchmarked user (the
/// tables read, checked and validated, and the rules that concern the user
/// read, validated and decoded into a `Policy`).
fn snapshot(c: &mut Criterion, fixtures: &Fixtures) {
    let mut group = c.benchmark_group("snapshot");
    group.measurement_time(Duration::from_secs(4)).sample_size(30);
    let owner = nix::unistd::geteuid().as_raw();
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder for the snapshot benchmark");
    for rules in SIZES {
        group.throughput(Throughput::Elements(rules as u64));
        let fixture = fixtures.get(rules);
        let g = &fixture.generated;
        let path = folder.join(format!("policy-{rules}"));
        std::fs::write(&path, &g.text).expect("write the policy");
        let stored = folder.join(format!("policy-{rules}.snapshot"));
        let bytes = snapshot::build(&path, owner).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&stored, &bytes).expect("write the snapshot");
        let read = |user: &str, groups: &[String]| {
            snapshot::Snapshot::open(&stored, &path, owner)
                .and_then(|s| s.policy_for(user, groups))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let part = read(&g.bench_user, &g.bench_groups);
        for ask in [Ask::Permit, Ask::DenyNoMatch] {
            let owned = ask.owned();
            let request = ask.request(g, &owned);
            let (mine, theirs) = (part.decide(&request), fixture.policy.decide(&request));
            assert_eq!(mine.verdict, theirs.verdict);
            assert_eq!(mine.rule.map(|r| r.location.line), theirs.rule.map(|r| r.location.line));
        }
        eprintln!(
            "snapshot of {rules} rules: {} bytes; {} rules read for {}",
            bytes.len(),
            part.rules().len(),
            g.bench_user
        );
        group.bench_function(BenchmarkId::new("open_for_user", rules), |b| {
            b.iter(|| read(black_box(&g.bench_user), &g.bench_groups).rules().len());
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&folder);
}

/// The groups share the fixtures: the 100,000-rule policy is generated and loaded once.
fn benches(c: &mut Criterion) {
    let fixtures = Fixtures::default();
    parse_compile(c, &fixtures);
    decide(c, &fixtures);
    snapshot(c, &fixtures);
}

criterion_group! {
    name = policy;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(policy);
