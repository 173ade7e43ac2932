//! `newgatectl import` of a sudoers file: any input is refused with a reason or
//! becomes a policy that loads; see `newgate_fuzz::import`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use newgate::import::Format;
use newgate_fuzz::import::check_import;

fuzz_target!(|data: &[u8]| check_import(Format::Sudoers, data));
