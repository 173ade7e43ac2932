//! pam_newgate.so arrives with its own issue; this crate only reserves its place in the workspace.
