//! The `cateye` command line: argument parsing ([`args`]) and terminal rendering ([`render`])
//! on top of the library (`cateye`). No statistics live here.
#![deny(missing_docs)]

pub mod args;
pub mod network_args;
pub mod privacy_args;
pub mod progress;
pub mod reference;
pub mod render;
