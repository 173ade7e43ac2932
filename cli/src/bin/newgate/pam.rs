//! Linux-PAM, from the application side: the handle and the conversation.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;

use pam_sys::raw;
use pam_sys::types::{PamConversation, PamHandle, PamItemType, PamMessage, PamResponse, PamReturnCode};

pub const SUCCESS: c_int = PamReturnCode::SUCCESS as c_int;
pub const NEW_AUTHTOK_REQD: c_int = PamReturnCode::NEW_AUTHTOK_REQD as c_int;
pub const AUTH_ERR: c_int = PamReturnCode::AUTH_ERR as c_int;
pub const CONV_ERR: c_int = PamReturnCode::CONV_ERR as c_int;

const PROMPT_ECHO_OFF: c_int = 1;
const PROMPT_ECHO_ON: c_int = 2;
const ERROR_MSG: c_int = 3;

/// What the conversation asks of the person at the terminal.
pub trait Conversation {
    /// Reads an answer; `Err` aborts the conversation (no terminal, `-n`, interrupted).
    fn ask(&mut self, prompt: &str, echo: bool) -> Result<crate::tty::Secret, ()>;
    /// Shows a message from a module.
    fn tell(&mut self, message: &str, error: bool);
}

/// A PAM transaction; ended (with the last status) when dropped.
pub struct Pam {
    handle: *mut PamHandle,
    /// Owns the conversation that `handle` points at; it must outlive the handle.
    _conversation: Box<PamConversation>,
    _state: Box<Box<dyn Conversation>>,
    last_status: c_int,
}

impl Pam {
    pub fn start(service: &str, user: &str, conversation: Box<dyn Conversation>) -> Result<Pam, String> {
        let service = CString::new(service).map_err(|_| "service name holds a NUL byte")?;
        let user = CString::new(user).map_err(|_| "user name holds a NUL byte")?;
        let mut state = Box::new(conversation);
        let conv = Box::new(PamConversation {
            conv: Some(converse),
            data_ptr: &mut *state as *mut Box<dyn Conversation> as *mut c_void,
        });
        let mut handle: *const PamHandle = ptr::null();
        // SAFETY: the strings are NUL-terminated and live through the call (PAM
        // copies them); `conv` and the state it points at are boxed, so they stay
        // at the same address for as long as the handle exists (both are dropped
        // after pam_end, in `Drop`).
        let status = unsafe { raw::pam_start(service.as_ptr(), user.as_ptr(), &*conv, &mut handle) };
        if status != SUCCESS || handle.is_null() {
            return Err(format!("{} (status {status})", describe(ptr::null_mut(), status)));
        }
        Ok(Pam {
            handle: handle as *mut PamHandle,
            _conversation: conv,
            _state: state,
            last_status: status,
        })
    }

    fn record(&mut self, status: c_int) -> c_int {
        self.last_status = status;
        status
    }

    pub fn set_item(&mut self, item: PamItemType, value: &str) -> Result<(), String> {
        let value = CString::new(value).map_err(|_| "PAM item holds a NUL byte")?;
        // SAFETY: the handle is live; PAM copies string items.
        let status = unsafe { raw::pam_set_item(self.handle, item as c_int, value.as_ptr() as *const c_void) };
        match self.record(status) {
            SUCCESS => Ok(()),
            s => Err(self.describe(s)),
        }
    }

    pub fn putenv(&mut self, name: &str, value: &str) -> Result<(), String> {
        let pair = CString::new(format!("{name}={value}")).map_err(|_| "PAM variable holds a NUL byte")?;
        // SAFETY: the handle is live; PAM copies the string.
        let status = unsafe { raw::pam_putenv(self.handle, pair.as_ptr()) };
        match self.record(status) {
            SUCCESS => Ok(()),
            s => Err(self.describe(s)),
        }
    }

    pub fn authenticate(&mut self) -> c_int {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_authenticate(self.handle, 0) };
        self.record(status)
    }

    pub fn acct_mgmt(&mut self) -> c_int {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_acct_mgmt(self.handle, 0) };
        self.record(status)
    }

    pub fn chauthtok_expired(&mut self) -> c_int {
        // SAFETY: the handle is live.
        let status =
            unsafe { raw::pam_chauthtok(self.handle, pam_sys::types::PamFlag::CHANGE_EXPIRED_AUTHTOK as c_int) };
        self.record(status)
    }

    pub fn setcred(&mut self, establish: bool) -> c_int {
        let flag = if establish {
            pam_sys::types::PamFlag::ESTABLISH_CRED
        } else {
            pam_sys::types::PamFlag::DELETE_CRED
        };
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_setcred(self.handle, flag as c_int) };
        self.record(status)
    }

    pub fn open_session(&mut self) -> c_int {
        // SAFETY: the handle is live.
        let status = unsafe { raw::pam_open_session(self.handle, 0) };
        self.record(status)
    }

    pub fn close_session(&mut self) -> c_int {
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

    pub fn describe(&self, status: c_int) -> String {
        describe(self.handle, status)
    }
}

/// PAM's text for a status; `handle` may be NULL (before pam_start succeeded),
/// which Linux-PAM's pam_strerror does not read.
fn describe(handle: *mut PamHandle, status: c_int) -> String {
    // SAFETY: pam_strerror returns a pointer to a static string (or NULL).
    let text = unsafe { raw::pam_strerror(handle, status) };
    if text.is_null() {
        return format!("PAM error {status}");
    }
    // SAFETY: a non-NULL result is a valid NUL-terminated string.
    unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
}

impl Drop for Pam {
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

extern "C" fn converse(
    count: c_int,
    messages: *mut *mut PamMessage,
    out: *mut *mut PamResponse,
    data: *mut c_void,
) -> c_int {
    // A panic must not unwind into C.
    std::panic::catch_unwind(|| converse_inner(count, messages, out, data)).unwrap_or(CONV_ERR)
}

fn converse_inner(
    count: c_int,
    messages: *mut *mut PamMessage,
    out: *mut *mut PamResponse,
    data: *mut c_void,
) -> c_int {
    if count <= 0 || count > 32 || messages.is_null() || out.is_null() || data.is_null() {
        return CONV_ERR;
    }
    let count = count as usize;
    // SAFETY: `data` is the pointer to the boxed conversation set in Pam::start,
    // alive for as long as the handle that calls us.
    let conversation = unsafe { &mut *(data as *mut Box<dyn Conversation>) };
    // SAFETY: calloc of `count` responses, checked for NULL below.
    let responses = unsafe { libc::calloc(count, std::mem::size_of::<PamResponse>()) } as *mut PamResponse;
    if responses.is_null() {
        return pam_sys::types::PamReturnCode::BUF_ERR as c_int;
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
                Ok(answer) => {
                    let copy = malloc_string(answer.as_bytes());
                    if copy.is_null() {
                        free_responses(responses, count);
                        return pam_sys::types::PamReturnCode::BUF_ERR as c_int;
                    }
                    // SAFETY: `i < count`, inside the calloc'd array.
                    unsafe { (*responses.add(i)).resp = copy };
                }
                Err(()) => {
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
