//! `newgatectl diff OLD NEW`: which rules a change adds and removes, and which
//! requests change decision, each with the deciding rule on both sides. The
//! comparison itself is the policy crate's (`newgate_policy::compare`).

use std::path::PathBuf;

use lexopt::prelude::*;
use newgate::json::Json;
use newgate_policy::time::parse_timestamp;
use newgate_policy::{Flip, Probe, Rule, Verdict, compare};
use newgate_system::host_name;

use crate::{Failure, load_for_query, now};

pub fn run(mut parser: lexopt::Parser) -> Result<u8, Failure> {
    let (mut files, mut host, mut at, mut json) = (Vec::new(), None, None, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("host") => host = Some(parser.value()?.string()?),
            Long("at") => at = Some(parser.value()?.string()?),
            Long("json") => json = true,
            Value(v) if files.len() < 2 => files.push(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    let [old_file, new_file] = <[PathBuf; 2]>::try_from(files)
        .map_err(|_| Failure("diff needs two policies: newgatectl diff OLD NEW".into()))?;
    let old = match load_for_query(Some(old_file)) {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let new = match load_for_query(Some(new_file)) {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let time = match &at {
        Some(text) => parse_timestamp(text, &new.settings.timezone).map_err(Failure)?,
        None => now(),
    };
    let host = match host {
        Some(h) => h,
        None => host_name().map_err(|why| Failure(why.to_string()))?,
    };
    let changes = compare(&old, &new, &host, time).map_err(|count| {
        Failure(format!(
            "the two policies name {count} combinations of users, targets, commands and services, more than {} to compare",
            newgate_policy::MAX_PROBES
        ))
    })?;
    if json {
        let rules = |rules: &[&Rule]| Json::Array(rules.iter().map(|r| rule_json(Some(r))).collect());
        let report = Json::Object(vec![
            ("removed", rules(&changes.removed)),
            ("added", rules(&changes.added)),
            ("flips", Json::Array(changes.flips.iter().map(flip_json).collect())),
            ("tried", Json::Number(changes.tried as i64)),
        ]);
        println!("{report}");
    } else {
        if !changes.removed.is_empty() {
            println!("rules removed:");
            for rule in &changes.removed {
                println!("  - {}: {}", rule.location, rule.text);
            }
        }
        if !changes.added.is_empty() {
            println!("rules added:");
            for rule in &changes.added {
                println!("  + {}: {}", rule.location, rule.text);
            }
        }
        if changes.flips.is_empty() {
            println!("no decision changes ({} requests tried)", changes.tried);
        } else {
            println!(
                "decisions that change ({} of {} requests tried):",
                changes.flips.len(),
                changes.tried
            );
            for flip in &changes.flips {
                println!("  {}: {} -> {}", describe(&flip.probe), side(flip.old), side(flip.new));
            }
        }
    }
    let changed = !(changes.removed.is_empty() && changes.added.is_empty() && changes.flips.is_empty());
    Ok(if changed { 1 } else { 0 })
}

fn describe(probe: &Probe) -> String {
    let who = match probe.user.as_str() {
        "*" => "anyone".to_string(),
        user => user.to_string(),
    };
    let target = match (&probe.target_user, &probe.target_group) {
        (Some(u), Some(g)) => format!("as user {u} group {g}"),
        (None, Some(g)) => format!("as group {g}"),
        (Some(u), None) => format!("as user {u}"),
        (None, None) => "as user root".into(),
    };
    let command = match &probe.command {
        Some(path) if probe.args.is_empty() => format!("run {}", path.display()),
        Some(path) => format!("run {} {}", path.display(), probe.args.join(" ")),
        None => "no command".into(),
    };
    format!("{who} {target}, {command}, through {}", probe.service)
}

fn side((verdict, rule): (Verdict, Option<&Rule>)) -> String {
    match rule {
        Some(rule) => format!("{} ({})", verdict.as_str(), rule.location),
        None => format!("{} (no rule matched)", verdict.as_str()),
    }
}

fn rule_json(rule: Option<&Rule>) -> Json {
    match rule {
        Some(rule) => Json::Object(vec![
            ("file", rule.location.file.display().to_string().into()),
            ("line", Json::Number(rule.location.line.into())),
            ("text", rule.text.as_str().into()),
        ]),
        None => Json::Null,
    }
}

fn flip_json(flip: &Flip) -> Json {
    let probe = &flip.probe;
    let side = |(verdict, rule): (Verdict, Option<&Rule>)| {
        Json::Object(vec![("verdict", verdict.as_str().into()), ("rule", rule_json(rule))])
    };
    Json::Object(vec![
        (
            "request",
            Json::Object(vec![
                ("user", probe.user.as_str().into()),
                (
                    "groups",
                    Json::Array(probe.groups.iter().map(|g| g.as_str().into()).collect()),
                ),
                ("as_user", probe.target_user.clone().into()),
                ("group", probe.target_group.clone().into()),
                (
                    "command",
                    probe.command.as_ref().map(|p| p.display().to_string()).into(),
                ),
                (
                    "args",
                    Json::Array(probe.args.iter().map(|a| a.as_str().into()).collect()),
                ),
                ("service", probe.service.as_str().into()),
            ]),
        ),
        ("old", side(flip.old)),
        ("new", side(flip.new)),
    ])
}
