//! `pam_newgate.so`: the newgate policy enforced in any PAM stack.
//!
//! - `pam_sm_acct_mgmt` decides a switch (`su`-like services: `PAM_RUSER`
//!   as user `PAM_USER`; the `newgate` service: the request handed over in
//!   the PAM environment, see [`newgate_policy::handoff`]); a request that is
//!   not a switch is ignored, so that the module composes with the stack.
//! - `pam_sm_setcred` adds the groups of matching `grant` rules to the
//!   process's supplementary groups.
//! - `pam_sm_open_session` and `pam_sm_close_session` write an audit line.
//! - `pam_sm_authenticate` and `pam_sm_chauthtok` are ignored.
//!
//! Every decision is the policy crate's; this crate reads PAM items, asks
//! NSS for groups, and logs through `pam_syslog`. All unsafe code sits in
//! `ffi`; everything else is safe code behind the `pam::Handle` trait.
//! Nothing outlives a call: the policy is loaded on each call and dropped.

#![deny(unsafe_code)]

mod account;
mod credentials;
#[allow(unsafe_code)]
mod ffi;
mod guard;
mod options;
mod pam;
mod session;
