//! The PAM application of the `pam_stack` suite, run in a child process
//! (so that nss_wrapper and uid_wrapper can be preloaded into it): it opens
//! a transaction with `pam_start_confdir` on a private config folder, sets
//! items and PAM environment, runs the steps asked for, and prints each
//! result on stdout. The module's log lines come out on stderr, because the
//! application opens the system log with `LOG_PERROR`.
//!
//! This is the test's FFI module: the only test code with `unsafe`.
//!
//! Command line (after `--pam-transaction`):
//! `CONFDIR SERVICE USER [ITEM=VALUE | env:NAME=VALUE]... STEP...`, where
//! USER `-` means none, ITEM is `ruser` or `tty`, and a STEP is one of
//! `authenticate`, `acct_mgmt`, `setcred`, `setcred-delete`, `open_session`,
//! `close_session`, `chauthtok` or `groups` (print the process's groups).

use std::ffi::{CString, c_char, c_int, c_void};
use std::process::ExitCode;
use std::ptr;

use nix::libc::{LOG_AUTHPRIV, LOG_PERROR, closelog, openlog};
use nix::unistd::{Group, getgroups};
use pam_sys::{PamConversation, PamFlag, PamHandle, PamItemType, PamMessage, PamResponse, PamReturnCode, raw};

#[link(name = "pam")]
unsafe extern "C" {
    /// Linux-PAM >= 1.4; pam-sys 0.5 does not declare it.
    fn pam_start_confdir(
        service: *const c_char,
        user: *const c_char,
        conversation: *const PamConversation,
        confdir: *const c_char,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
}

/// The module never converses; a conversation that refuses proves it.
extern "C" fn no_conversation(
    _count: c_int,
    _messages: *mut *mut PamMessage,
    _responses: *mut *mut PamResponse,
    _data: *mut c_void,
) -> c_int {
    PamReturnCode::CONV_ERR as c_int
}

fn cstring(text: &str) -> CString {
    CString::new(text).expect("no NUL in test strings")
}

/// Runs one transaction as the command line says; see the module docs.
pub fn transaction(args: &[String]) -> ExitCode {
    let [confdir, service, user, rest @ ..] = args else {
        eprintln!("usage: --pam-transaction CONFDIR SERVICE USER [ITEM=VALUE|env:NAME=VALUE]... STEP...");
        return ExitCode::from(2);
    };
    let (confdir, service) = (cstring(confdir), cstring(service));
    let user = (user != "-").then(|| cstring(user));
    // SAFETY: the identity is a static string, as openlog requires (it keeps the pointer).
    unsafe { openlog(c"pam-harness".as_ptr(), LOG_PERROR, LOG_AUTHPRIV) };
    let conversation = PamConversation {
        conv: Some(no_conversation),
        data_ptr: ptr::null_mut(),
    };
    let mut handle: *mut PamHandle = ptr::null_mut();
    // SAFETY: every string is NUL-terminated and outlives the call;
    // `conversation` outlives the transaction (PAM keeps a copy of it anyway).
    let status = unsafe {
        pam_start_confdir(
            service.as_ptr(),
            user.as_ref().map_or(ptr::null(), |u| u.as_ptr()),
            &conversation,
            confdir.as_ptr(),
            &mut handle,
        )
    };
    if status != 0 || handle.is_null() {
        println!("pam_start_confdir: {}", name(status));
        return ExitCode::FAILURE;
    }
    let mut last = PamReturnCode::SUCCESS as c_int;
    for arg in rest {
        if let Some(assignment) = arg.strip_prefix("env:") {
            let assignment = cstring(assignment);
            // SAFETY: `handle` is live; pam_putenv copies the string.
            last = unsafe { raw::pam_putenv(handle, assignment.as_ptr()) };
            assert_eq!(last, 0, "pam_putenv {arg}");
        } else if let Some((item, value)) = arg.split_once('=') {
            let code = match item {
                "ruser" => PamItemType::RUSER,
                "tty" => PamItemType::TTY,
                _ => panic!("unknown item {item}"),
            };
            let value = cstring(value);
            // SAFETY: `handle` is live; pam_set_item copies the string.
            last = unsafe { raw::pam_set_item(handle, code as c_int, value.as_ptr().cast()) };
            assert_eq!(last, 0, "pam_set_item {arg}");
        } else {
            last = step(handle, arg);
        }
    }
    // SAFETY: `handle` is live and not used after pam_end.
    unsafe { raw::pam_end(handle, last) };
    // SAFETY: closes the log opened above.
    unsafe { closelog() };
    ExitCode::SUCCESS
}

fn step(handle: *mut PamHandle, step: &str) -> c_int {
    let establish = PamFlag::ESTABLISH_CRED as c_int;
    // SAFETY: `handle` is the live handle from pam_start_confdir, for every call below.
    let status = unsafe {
        match step {
            "authenticate" => raw::pam_authenticate(handle, 0),
            "acct_mgmt" => raw::pam_acct_mgmt(handle, 0),
            "setcred" => raw::pam_setcred(handle, establish),
            "setcred-delete" => raw::pam_setcred(handle, PamFlag::DELETE_CRED as c_int),
            "open_session" => raw::pam_open_session(handle, 0),
            "close_session" => raw::pam_close_session(handle, 0),
            "chauthtok" => raw::pam_chauthtok(handle, 0),
            "groups" => {
                let names: Vec<String> = getgroups()
                    .expect("getgroups")
                    .into_iter()
                    .map(|gid| match Group::from_gid(gid) {
                        Ok(Some(group)) => group.name,
                        _ => gid.to_string(),
                    })
                    .collect();
                println!("groups: {}", names.join(","));
                return 0;
            }
            _ => panic!("unknown step {step}"),
        }
    };
    println!("{step}: {}", name(status));
    status
}

/// `PAM_SUCCESS`, `PAM_PERM_DENIED`, ... as the header spells them.
fn name(status: c_int) -> String {
    let code = PamReturnCode::from(status);
    if code as c_int == status {
        format!("PAM_{code:?}")
    } else {
        status.to_string()
    }
}
