//! The audit line writer on any two events: every message fits one datagram
//! and holds no line break or hidden character, and the events read back
//! from the stream of their lines, in either format, are the two events
//! (where a field was cut, its start): nothing a field holds can forge a
//! line, another field or another event.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use newgate::audit_line::{Event, MAX_LINE, json_parts, sudo_lines};
use newgate::json::is_invisible;
use newgate_fuzz::audit::{self, Field, command_stands_for, read_json, read_sudo_stream, typed_length};

/// An event's fields and command from the fuzzer's bytes. `widen` repeats
/// the working folder and the last word, so that long fields and commands
/// past the 32 KiB cut are reached without inputs that long.
struct Input {
    user: String,
    problem: Option<String>,
    tty: String,
    pwd: String,
    run_as_user: String,
    run_as_group: Option<String>,
    rule: Option<String>,
    command: Vec<Vec<u8>>,
}

impl Input {
    fn new(u: &mut Unstructured) -> Result<Input> {
        let widen = usize::from(u.arbitrary::<u8>()?);
        let mut input = Input {
            user: u.arbitrary()?,
            problem: u.arbitrary()?,
            tty: u.arbitrary()?,
            pwd: u.arbitrary()?,
            run_as_user: u.arbitrary()?,
            run_as_group: u.arbitrary()?,
            rule: u.arbitrary()?,
            command: u.arbitrary()?,
        };
        input.pwd = input.pwd.repeat(widen % 32 + 1);
        if let Some(last) = input.command.last_mut() {
            *last = last.repeat(widen + 1);
        }
        Ok(input)
    }
}

fn check_field(name: &str, read: &Field, written: &str) {
    assert!(read.stands_for(written), "{name}: read {read:?}, written {written:?}");
}

fn check_optional(name: &str, read: &Option<Field>, written: &Option<String>) {
    match (read, written) {
        (Some(read), Some(written)) => check_field(name, read, written),
        (None, None) => {}
        _ => panic!("{name}: read {read:?}, written {written:?}"),
    }
}

fn check(read: &audit::Event, input: &Input, lines: &[String]) {
    check_field("user", &read.user, &input.user);
    check_optional("reason", &read.reason, &input.problem);
    check_field("tty", &read.tty, &input.tty);
    check_field("pwd", &read.pwd, &input.pwd);
    check_field("run-as user", &read.run_as_user, &input.run_as_user);
    check_optional("run-as group", &read.run_as_group, &input.run_as_group);
    check_optional("rule", &read.rule, &input.rule);
    if let Err(why) = command_stands_for(&read.command, &input.command) {
        panic!("command: {why}\n{lines:#?}");
    }
    if let Some(bytes) = read.command_bytes {
        assert_eq!(bytes, typed_length(&input.command));
    }
}

fn check_messages(lines: &[String]) {
    for line in lines {
        assert!(line.len() <= MAX_LINE, "{} bytes: {line:?}", line.len());
        assert!(
            !line.chars().any(|c| c.is_control() || is_invisible(c)),
            "a hidden character in {line:?}"
        );
    }
}

fn event<'a>(input: &'a Input, command: &'a [OsString]) -> Event<'a> {
    Event {
        user: &input.user,
        problem: input.problem.clone(),
        tty: &input.tty,
        pwd: &input.pwd,
        run_as_user: &input.run_as_user,
        run_as_group: input.run_as_group.as_deref(),
        rule: input.rule.clone(),
        command,
    }
}

fn words(input: &Input) -> Vec<OsString> {
    input.command.iter().cloned().map(OsString::from_vec).collect()
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(one), Ok(two)) = (Input::new(&mut u), Input::new(&mut u)) else {
        return;
    };
    let (one_words, two_words) = (words(&one), words(&two));
    let events = [event(&one, &one_words), event(&two, &two_words)];

    let stream: Vec<String> = events.iter().flat_map(sudo_lines).collect();
    check_messages(&stream);
    match read_sudo_stream(&stream) {
        Ok(read) if read.len() == 2 => {
            check(&read[0], &one, &stream);
            check(&read[1], &two, &stream);
        }
        Ok(read) => panic!("{} events read back from two:\n{stream:#?}", read.len()),
        Err(why) => panic!("unreadable: {why}\n{stream:#?}"),
    }

    for (input, event) in [(&one, &events[0]), (&two, &events[1])] {
        let parts = json_parts(event, "4242-1764455357113-1");
        check_messages(&parts);
        match read_json(&parts) {
            Ok(read) => check(&read, input, &parts),
            Err(why) => panic!("unreadable: {why}\n{parts:#?}"),
        }
    }
});
