//! Source 4: the environment of the nearest ancestor Python process.
//! Not implemented yet: the source reports that it was not consulted.

use super::{Found, Inputs, Skip};

pub fn discover(_inp: &Inputs, _skipped: &mut Vec<Skip>) -> Option<Found> {
    None
}

/// One line for "what was checked".
pub fn checked(_inp: &Inputs) -> String {
    "inherited: not consulted (not implemented on this build)".into()
}
