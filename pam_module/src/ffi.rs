//! The module's C interface: the `pam_sm_*` functions Linux-PAM calls, the
//! handle's items and environment, and `pam_syslog`. This is the crate's
//! only unsafe code; it copies what PAM gives into owned Rust values and
//! hands them to the safe modules, inside [`guarded`].

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;

use nix::libc::{LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE};
use pam_sys::{PamHandle, PamReturnCode, raw};

use crate::account::acct_mgmt;
use crate::credentials::setcred;
use crate::guard::guarded;
use crate::options::Options;
use crate::pam::{self, Handle, Item, Level};
use crate::session::{Event, audit};

#[link(name = "pam")]
unsafe extern "C" {
    /// `void pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)`
    /// from `<security/pam_ext.h>`; pam-sys 0.5 declares no variadic function.
    fn pam_syslog(pamh: *const PamHandle, priority: c_int, fmt: *const c_char, ...);
}

/// The handle PAM passed to the current call. It lives as long as the call.
struct Pam {
    handle: *mut PamHandle,
}

impl Handle for Pam {
    fn item(&self, item: Item) -> Result<Option<String>, String> {
        let mut value: *const c_void = ptr::null();
        // SAFETY: `handle` is the non-null handle of the transaction that
        // called us; pam_get_item only stores a pointer into `value`.
        let status = unsafe { raw::pam_get_item(self.handle, item.code() as c_int, &mut value) };
        if status != PamReturnCode::SUCCESS as c_int {
            return Err(format!(
                "cannot read {}: {:?}",
                item.name(),
                PamReturnCode::from(status)
            ));
        }
        if value.is_null() {
            return Ok(None);
        }
        // SAFETY: the items read here are all strings: PAM keeps a
        // NUL-terminated copy that stays valid until the item is set again,
        // which cannot happen while we copy it (PAM calls are not reentrant).
        let text = unsafe { CStr::from_ptr(value.cast::<c_char>()) };
        owned(text, item.name())
    }

    fn env(&self, name: &str) -> Result<Option<String>, String> {
        let key = CString::new(name).map_err(|_| format!("bad variable name {name:?}"))?;
        // SAFETY: `handle` is live (see `item`) and `key` is NUL-terminated;
        // pam_getenv returns NULL or a pointer into the handle's environment.
        let value = unsafe { raw::pam_getenv(self.handle, key.as_ptr()) };
        if value.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-NULL result is a NUL-terminated string owned by the
        // handle, unchanged until pam_putenv is called, which we never do.
        let text = unsafe { CStr::from_ptr(value) };
        match text.to_str() {
            Ok(text) => Ok(Some(text.to_owned())),
            Err(_) => Err(format!("{name} is not UTF-8")),
        }
    }

    fn log(&self, level: Level, message: &str) {
        let priority = match level {
            Level::Error => LOG_ERR,
            Level::Notice => LOG_NOTICE,
            Level::Info => LOG_INFO,
            Level::Debug => LOG_DEBUG,
        };
        // `sanitize` leaves no NUL (it is a control character), so this cannot fail.
        let Ok(line) = CString::new(pam::sanitize(message)) else {
            return;
        };
        // SAFETY: `handle` is live; the format is the constant "%s" with
        // exactly one NUL-terminated string argument, so nothing in the
        // message is read as a format directive.
        unsafe { pam_syslog(self.handle, priority, c"%s".as_ptr(), line.as_ptr()) };
    }
}

/// A string item, or an error naming it when it is not UTF-8. An empty
/// string counts as unset (`su` and others set `PAM_RUSER` to "" at times).
fn owned(text: &CStr, name: &str) -> Result<Option<String>, String> {
    match text.to_str() {
        Ok("") => Ok(None),
        Ok(text) => Ok(Some(text.to_owned())),
        Err(_) => Err(format!("{name} is not UTF-8")),
    }
}

/// The module arguments as strings; one that is not UTF-8 is kept lossily,
/// so that it is reported as unknown.
///
/// # Safety
/// `argv` must hold `argc` pointers to NUL-terminated strings, as PAM passes them.
unsafe fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    let count = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() || count == 0 {
        return Vec::new();
    }
    // SAFETY: the caller guarantees `argv` points to `argc` valid pointers.
    let pointers = unsafe { std::slice::from_raw_parts(argv, count) };
    pointers
        .iter()
        .filter(|p| !p.is_null())
        // SAFETY: each non-NULL entry is a NUL-terminated string (the caller's guarantee).
        .map(|&p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        .collect()
}

/// Runs one module function: reads the arguments, logs the unknown ones,
/// and turns a panic anywhere into `fallback`.
///
/// # Safety
/// `pamh`, `argc` and `argv` must be what Linux-PAM passed to the exported function.
unsafe fn entry(
    pamh: *mut PamHandle,
    argc: c_int,
    argv: *const *const c_char,
    fallback: PamReturnCode,
    body: impl FnOnce(&dyn Handle, &Options) -> PamReturnCode,
) -> c_int {
    if pamh.is_null() {
        return PamReturnCode::SYSTEM_ERR as c_int;
    }
    let pam = Pam { handle: pamh };
    // SAFETY: passed through from Linux-PAM (the caller's guarantee).
    let args = unsafe { arguments(argc, argv) };
    guarded(&pam, fallback, || {
        let (options, complaints) = Options::parse(&args);
        for complaint in complaints {
            pam.log(Level::Error, &complaint);
        }
        body(&pam, &options)
    }) as c_int
}

/// Decides whether the policy permits the switch this transaction asks for.
///
/// # Safety
/// Called by Linux-PAM with a live handle and its module arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_acct_mgmt(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: our arguments are Linux-PAM's.
    unsafe { entry(pamh, argc, argv, PamReturnCode::PERM_DENIED, acct_mgmt) }
}

/// Grants the groups of matching `grant` rules.
///
/// # Safety
/// Called by Linux-PAM with a live handle and its module arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_setcred(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: our arguments are Linux-PAM's.
    unsafe {
        entry(pamh, argc, argv, PamReturnCode::CRED_ERR, |pam, options| {
            setcred(pam, options, flags)
        })
    }
}

/// Logs the opening of a session.
///
/// # Safety
/// Called by Linux-PAM with a live handle and its module arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_open_session(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: our arguments are Linux-PAM's.
    unsafe {
        entry(pamh, argc, argv, PamReturnCode::SESSION_ERR, |pam, _| {
            audit(pam, Event::Open)
        })
    }
}

/// Logs the end of a session.
///
/// # Safety
/// Called by Linux-PAM with a live handle and its module arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_close_session(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: our arguments are Linux-PAM's.
    unsafe {
        entry(pamh, argc, argv, PamReturnCode::SESSION_ERR, |pam, _| {
            audit(pam, Event::Close)
        })
    }
}

/// The module decides; it does not authenticate.
///
/// # Safety
/// Called by Linux-PAM with a live handle and its module arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: our arguments are Linux-PAM's.
    unsafe { entry(pamh, argc, argv, PamReturnCode::AUTH_ERR, |_, _| PamReturnCode::IGNORE) }
}

/// The module holds no authentication token.
///
/// # Safety
/// Called by Linux-PAM with a live handle and its module arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_chauthtok(
    pamh: *mut PamHandle,
    _flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: our arguments are Linux-PAM's.
    unsafe {
        entry(pamh, argc, argv, PamReturnCode::AUTHTOK_ERR, |_, _| {
            PamReturnCode::IGNORE
        })
    }
}
