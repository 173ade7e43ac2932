//! A panic must never unwind into the PAM application: each exported
//! function runs its body through [`guarded`], which turns a panic into a
//! defined PAM code (denial for the account stage) and a log line.

#![forbid(unsafe_code)]

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pam_sys::PamReturnCode;

use crate::pam::{Handle, Level};

/// Runs `body`; when it panics, logs the panic and returns `fallback`.
pub fn guarded(pam: &dyn Handle, fallback: PamReturnCode, body: impl FnOnce() -> PamReturnCode) -> PamReturnCode {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(payload) => {
            let line = format!("internal error: {}: returning {fallback:?}", panic_message(&*payload));
            // Logging formats and allocates: if even that panics, stay silent.
            let _ = catch_unwind(AssertUnwindSafe(|| pam.log(Level::Error, &line)));
            fallback
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "panic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pam::fake::FakePam;

    #[test]
    fn a_panic_becomes_the_fallback_code_and_a_log_line() {
        let pam = FakePam::default();
        let code = guarded(&pam, PamReturnCode::PERM_DENIED, || {
            let groups: Vec<String> = Vec::new();
            panic!("no group at index 3 of {}", groups.len())
        });
        assert_eq!(code, PamReturnCode::PERM_DENIED);
        assert_eq!(
            pam.logged(),
            ["internal error: no group at index 3 of 0: returning PERM_DENIED"]
        );
    }

    #[test]
    fn a_body_that_returns_is_left_alone() {
        let pam = FakePam::default();
        assert_eq!(
            guarded(&pam, PamReturnCode::SYSTEM_ERR, || PamReturnCode::IGNORE),
            PamReturnCode::IGNORE
        );
        assert!(pam.logged().is_empty());
    }

    #[test]
    fn a_panic_while_logging_the_panic_still_returns_the_fallback() {
        struct Broken;
        impl Handle for Broken {
            fn item(&self, _: crate::pam::Item) -> Result<Option<String>, String> {
                Ok(None)
            }
            fn env(&self, _: &str) -> Result<Option<String>, String> {
                Ok(None)
            }
            fn log(&self, _: Level, _: &str) {
                panic!("the log is broken too")
            }
        }
        let code = guarded(&Broken, PamReturnCode::SYSTEM_ERR, || panic!("first"));
        assert_eq!(code, PamReturnCode::SYSTEM_ERR);
    }
}
