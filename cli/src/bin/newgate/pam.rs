//! Linux-PAM, from the application side: the handle and the conversation.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::ptr;

use pam_sys::raw;
use pam_sys::types::{PamConversation, PamHandle, PamItemType, PamMessage, PamResponse, PamReturnCode};

const SUCCESS: c_int = PamReturnCode::SUCCESS as c_int;
const CONV_ERR: c_int = PamReturnCode::CONV_ERR as c_int;
const BUF_ERR: c_int = PamReturnCode::BUF_ERR as c_int;

const PROMPT_ECHO_OFF: c_int = 1;
const PROMPT_ECHO_ON: c_int = 2;
const ERROR_MSG: c_int = 3;

/// A PAM call that did not succeed: its return code, and PAM's text for it.
#[derive(Debug, Clone)]
pub struct PamError {
    pub code: PamReturnCode,
    text: String,
}

impl fmt::Display for PamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PamError {}

/// What the conversation asks of the person at the terminal.
pub trait Conversation {
    /// Reads an answer; `None` aborts the conversation, and the conversation
    /// keeps its own reason (no terminal, `-n`, interrupted) for its owner to read.
    fn ask(&mut self, prompt: &str, echo: bool) -> Option<crate::tty::Secret>;
    /// Shows a message from a module.
    fn tell(&mut self, message: &str, error: bool);
}

/// A PAM transaction; ended (with the last status) when dropped.
pub struct Pam<C: Conversation> {
    handle: *mut PamHandle,
    /// Owns the conversation that `handle` points at; it must outlive the handle.
    _conversation: Box<PamConversation>,
    state: Box<C>,
    last_status: c_int,
}

impl<C: Conversation> Pam<C> {
    pub fn start(service: &str, user: &str, conversation: C) -> Result<Pam<C>, PamError> {
        // Names with a NUL byte never get here (they are not names in the user
        // database); PAM's own code for a bad argument says so if one did.
        let (Ok(service), Ok(user)) = (CString::new(service), CString::new(user)) else {
            return Err(error(ptr::null_mut(), PamReturnCode::BUF_ERR as c_int));
        };
        let mut state = Box::new(conversation);
        let conv = Box::new(PamConversation {
            conv: Some(converse::<C>),
            data_ptr: &mut *state as *mut C as *mut c_void,
        });
        let mut handle: *const PamHandle = ptr::null();
        // SAFETY: the strings are NUL-terminated and live through the call (PAM
        // copies them); `conv` and the state it points at are boxed, so they stay
        // at the same address for as long as the handle exists (both are dropped
        // after pam_end, in `Drop`).
        let status = unsafe { raw::pam_start(service.as_ptr(), user.as_ptr(), &*conv, &mut handle) };
        if status != SUCCESS || handle.is_null() {
            return Err(error(ptr::null_mut(), status));
        }
        Ok(Pam {
            handle: handle as *mut PamHandle,
            _conversation: conv,
            state,
            last_status: status,
        })
    }

    /// The conversation, to read why it stopped.
    pub fn conversation(&mut self) -> &mut C {
        &mut self.state
    }

    fn record(&mut self, status: c_int) -> Result<(), PamError> {
        self.last_status = status;
        match status {
            SUCCESS => Ok(()),
            _ => Err(error(self.handle, status)),
        }
    }

    pub fn set_item(&mut self, item: PamItemType, value: &str) -> Result<(), PamError> {
        let Ok(value) = CString::new(value) else {
            return self.record(BUF_ERR);
        };
        // SAFETY: the handle is live; PAM copies string items.
        let status = unsafe { raw::pam_set_item(self.handle, item as c_int, value.as_ptr() as *const c_void) };
        self.record(status)
    }

    /// The user PAM now holds (PAM_USER): a module may have changed it.
    pub fn user(&mut self) -> Result<Option<String>, PamError> {
        let mut item: *const c_void = ptr::null();
        // SAFETY: the handle is live; PAM stores a pointer to its own copy of
        // the item in `item`, valid until the item is set again or pam_end.
        let status = unsafe { raw::pam_get_item(self.handle, PamItemType::USER as c_int, &mut item) };
        self.record(status)?;
        if item.is_null() {
            return Ok(None);
        }
        // SAFETY: PAM_USER is a NUL-terminated string owned by PAM; it is copied at once.
        let user = unsafe { CStr::from_ptr(item as *const c_char) };
        Ok(Some(user.to_string_lossy().into_owned()))
    }

    pub fn putenv(&mut self, name: &str, value: &str) -> Result<(), PamError> {
        let Ok(pair) = CString::new(format!("{name}={value}")) else {
            return self.record(BUF_ERR);
        };
        // SAFETY: the handle is live; PAM copies the string.
        let status = unsafe { raw::pam_putenv(self.handle, pair.as_ptr()) };
        self.record(status)
    }

    pub fn authenticate(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_authenticate(self.handle, 0) };
        self.record(status)
    }

    pub fn acct_mgmt(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_acct_mgmt(self.handle, 0) };
        self.record(status)
    }

    pub fn chauthtok_expired(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let status =
            unsafe { raw::pam_chauthtok(self.handle, pam_sys::types::PamFlag::CHANGE_EXPIRED_AUTHTOK as c_int) };
        self.record(status)
    }

    pub fn setcred(&mut self, establish: bool) -> Result<(), PamError> {
        let flag = if establish {
            pam_sys::types::PamFlag::ESTABLISH_CRED
        } else {
            pam_sys::types::PamFlag::DELETE_CRED
        };
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_setcred(self.handle, flag as c_int) };
        self.record(status)
    }

    pub fn open_session(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_open_session(self.handle, 0) };
        self.record(status)
    }

    pub fn close_session(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_close_session(self.handle, 0) };
        self.record(status)
    }

    /// The PAM environment (from pam_env, pam_systemd, ...), as NAME, VALUE pairs.
    pub fn environment(&mut self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        // SAFETY: the handle is live; pam_getenvlist returns a NULL-terminated
        // array of malloc'd NUL-terminated strings that the caller must free.
        let list = unsafe { raw::pam_getenvlist(self.handle) } as *mut *mut c_char;
        if list.is_null() {
            return pairs;
        }
        let mut i = 0;
        loop {
            // SAFETY: the array is NULL-terminated and we stop at the NULL.
            let entry = unsafe { *list.add(i) };
            if entry.is_null() {
                break;
            }
            // SAFETY: each entry is a valid NUL-terminated string from PAM.
            let text = unsafe { CStr::from_ptr(entry) }.to_string_lossy().into_owned();
            if let Some((name, value)) = text.split_once('=') {
                pairs.push((name.to_string(), value.to_string()));
            }
            // SAFETY: the entry was malloc'd by PAM for us and is not used again.
            unsafe { libc::free(entry as *mut c_void) };
            i += 1;
        }
        // SAFETY: the array itself was malloc'd by PAM for us.
        unsafe { libc::free(list as *mut c_void) };
        pairs
    }
}

/// The error for a status, with PAM's text; `handle` may be NULL (before
/// pam_start succeeded), which Linux-PAM's pam_strerror does not read.
fn error(handle: *mut PamHandle, status: c_int) -> PamError {
    // SAFETY: pam_strerror returns a pointer to a static string (or NULL).
    let text = unsafe { raw::pam_strerror(handle, status) };
    let text = if text.is_null() {
        format!("PAM error {status}")
    } else {
        // SAFETY: a non-NULL result is a valid NUL-terminated string.
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    };
    PamError {
        code: PamReturnCode::from(status),
        text,
    }
}

impl<C: Conversation> Drop for Pam<C> {
    fn drop(&mut self) {
        // SAFETY: the handle is live and is not used after this call.
        unsafe { raw::pam_end(self.handle, self.last_status) };
    }
}

/// Copies `bytes` into a new malloc'd, NUL-terminated string that PAM will free.
fn malloc_string(bytes: &[u8]) -> *mut c_char {
    // SAFETY: calloc of len+1 bytes; NULL is checked; the copy stays inside the allocation.
    unsafe {
        let buffer = libc::calloc(bytes.len() + 1, 1) as *mut u8;
        if !buffer.is_null() {
            ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len());
        }
        buffer as *mut c_char
    }
}

/// Frees responses already filled in, wiping them, when the conversation fails halfway.
fn free_responses(responses: *mut PamResponse, count: usize) {
    for i in 0..count {
        // SAFETY: `responses` has `count` zero-initialised entries from calloc;
        // each non-NULL `resp` came from malloc_string and holds a NUL-terminated string.
        unsafe {
            let resp = (*responses.add(i)).resp;
            if !resp.is_null() {
                let len = libc::strlen(resp);
                crate::sys::wipe(std::slice::from_raw_parts_mut(resp as *mut u8, len));
                libc::free(resp as *mut c_void);
            }
        }
    }
    // SAFETY: the array came from calloc.
    unsafe { libc::free(responses as *mut c_void) };
}

extern "C" fn converse<C: Conversation>(
    count: c_int,
    messages: *mut *mut PamMessage,
    out: *mut *mut PamResponse,
    data: *mut c_void,
) -> c_int {
    // A panic must not unwind into C.
    std::panic::catch_unwind(|| converse_inner::<C>(count, messages, out, data)).unwrap_or(CONV_ERR)
}

fn converse_inner<C: Conversation>(
    count: c_int,
    messages: *mut *mut PamMessage,
    out: *mut *mut PamResponse,
    data: *mut c_void,
) -> c_int {
    if count <= 0 || count > 32 || messages.is_null() || out.is_null() || data.is_null() {
        return CONV_ERR;
    }
    let count = count as usize;
    // SAFETY: `data` is the pointer to the boxed conversation of type `C` set
    // in Pam::start, alive for as long as the handle that calls us.
    let conversation = unsafe { &mut *(data as *mut C) };
    // SAFETY: calloc of `count` responses, checked for NULL below.
    let responses = unsafe { libc::calloc(count, std::mem::size_of::<PamResponse>()) } as *mut PamResponse;
    if responses.is_null() {
        return BUF_ERR;
    }
    for i in 0..count {
        // SAFETY: Linux-PAM passes an array of `count` pointers to messages.
        let message = unsafe { *messages.add(i) };
        if message.is_null() {
            free_responses(responses, count);
            return CONV_ERR;
        }
        // SAFETY: a non-NULL message is a valid pam_message with a NUL-terminated text (or NULL).
        let (style, text) = unsafe {
            let m = &*message;
            let text = if m.msg.is_null() {
                String::new()
            } else {
                CStr::from_ptr(m.msg).to_string_lossy().into_owned()
            };
            (m.msg_style, text)
        };
        match style {
            PROMPT_ECHO_OFF | PROMPT_ECHO_ON => match conversation.ask(&text, style == PROMPT_ECHO_ON) {
                Some(answer) => {
                    let copy = malloc_string(answer.as_bytes());
                    if copy.is_null() {
                        free_responses(responses, count);
                        return BUF_ERR;
                    }
                    // SAFETY: `i < count`, inside the calloc'd array.
                    unsafe { (*responses.add(i)).resp = copy };
                }
                None => {
                    free_responses(responses, count);
                    return CONV_ERR;
                }
            },
            ERROR_MSG => conversation.tell(&text, true),
            _ => conversation.tell(&text, false),
        }
    }
    // SAFETY: `out` is a valid pointer given by PAM; PAM frees the array and its strings.
    unsafe { *out = responses };
    SUCCESS
}
