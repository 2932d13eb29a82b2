//! What a shim knows about the calls that led to it, so that loops are
//! impossible and nesting is unlimited.
//!
//! Two variables travel to the program a shim falls through to:
//!
//! - `VENVEXEC_PASSED`: the identity (device, inode) of every venvexec
//!   binary the call has already gone through. The next PATH search skips
//!   them all, so two installs (a second copy with its own shims dir later
//!   on PATH) cannot hand a call back and forth: the first line of defence,
//!   by construction.
//! - `VENVEXEC_DEPTH`: `N:PID:HASH:MS:SCRIPT`, a counter for loops through
//!   a *foreign* wrapper (a `python` later on PATH that runs `python` again:
//!   a shell script, pyenv's or mise's shims with a "system" version),
//!   which no identity list can see. A call counts as the same hop again
//!   only when nothing real can have run in between:
//!   - the same process came back (the wrapper `exec`s) within
//!     [`WINDOW_MS`] of the last hop: a loop goes round in milliseconds,
//!     while a program that re-execs itself through `python` (a reloader)
//!     has run in between and does so far less often;
//!   - or a direct child of the program we fell through to runs the very
//!     same command in the same directory, and that program was a `#!`
//!     script (a wrapper that does not `exec`). The child of a real
//!     interpreter is real nesting.
//!
//!   Anything else starts a new count, so legitimate nesting (python
//!   running python running python…) is never taken for a loop.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use crate::venv::FileId;

pub const DEPTH_VAR: &str = "VENVEXEC_DEPTH";
pub const PASSED_VAR: &str = "VENVEXEC_PASSED";
/// Far above any sane chain of wrappers that `exec` each other, far below
/// a fork bomb; each hop is one exec, so reaching it takes milliseconds.
pub const MAX_DEPTH: u32 = 32;
/// How soon the same process must come back to count as a loop.
pub const WINDOW_MS: u64 = 1000;
/// More venvexec installs than any machine has; the list stays bounded
/// even if something feeds it garbage.
const MAX_PASSED: usize = 16;

/// The chain as this shim sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Fall-throughs so far that were this same hop repeated.
    pub depth: u32,
    /// This binary first (when known), then every venvexec binary already
    /// passed.
    pub passed: Vec<FileId>,
    me: bool,
}

impl Chain {
    /// `depth_var` and `passed_var` as found in the environment; `me` is
    /// this binary, `hop` gives this call's [`hop_hash`]. The hop and the
    /// process facts are asked only when there is a count to check, so a
    /// call with no chain behind it hashes nothing.
    pub fn new(
        depth_var: Option<&OsStr>,
        passed_var: Option<&OsStr>,
        me: Option<FileId>,
        hop: impl FnOnce() -> u64,
        facts: impl FnOnce() -> Facts,
    ) -> Chain {
        let depth = depth_var.and_then(parse_depth).map_or(0, |d| {
            let now = facts();
            let same_process = d.pid == now.pid && now.ms.saturating_sub(d.ms) < WINDOW_MS;
            let wrapper_child = d.pid == now.ppid && d.script && d.hop == hop();
            if same_process || wrapper_child {
                d.count
            } else {
                0
            }
        });
        let mut passed: Vec<FileId> = me.into_iter().collect();
        for id in passed_var.map(parse_passed).into_iter().flatten() {
            if passed.len() < MAX_PASSED && !passed.contains(&id) {
                passed.push(id);
            }
        }
        Chain {
            depth,
            me: me.is_some(),
            passed,
        }
    }

    /// A chain for a call that did not come through a shim (the CLI).
    pub fn start(me: Option<FileId>) -> Chain {
        Chain::new(
            None,
            std::env::var_os(PASSED_VAR).as_deref(),
            me,
            || 0,
            Facts::now,
        )
    }

    /// This binary, when it could be told.
    pub fn me(&self) -> Option<FileId> {
        self.me.then(|| self.passed[0])
    }

    pub fn is_loop(&self) -> bool {
        self.depth >= MAX_DEPTH
    }

    /// The variables for the program this shim falls through to: `hop` is
    /// this call's [`hop_hash`]; `script`: that program is a `#!` script.
    /// Each value is written straight into its one buffer: this runs on
    /// every fall-through, where `format!` and a `String` per passed binary
    /// cost more than the rest of the hop.
    pub fn fall_through_vars(
        &self,
        now: &Facts,
        hop: u64,
        script: bool,
    ) -> [(&'static str, OsString); 2] {
        // `N:PID:HASH:MS:S`: at most 10+1+10+1+16+1+20+1+1 bytes.
        let mut depth = Vec::with_capacity(64);
        crate::platform::push_decimal(&mut depth, u64::from(self.depth) + 1);
        depth.push(b':');
        crate::platform::push_decimal(&mut depth, u64::from(now.pid));
        depth.push(b':');
        push_hex(&mut depth, hop);
        depth.push(b':');
        crate::platform::push_decimal(&mut depth, now.ms);
        depth.push(b':');
        depth.push(if script { b'1' } else { b'0' });
        // `DEV.INO` is at most 20+1+20 bytes, plus its `:`.
        let mut passed = Vec::with_capacity(self.passed.len() * 42);
        for (i, &(dev, ino)) in self.passed.iter().enumerate() {
            if i > 0 {
                passed.push(b':');
            }
            crate::platform::push_decimal(&mut passed, dev);
            passed.push(b'.');
            crate::platform::push_decimal(&mut passed, ino);
        }
        [
            (DEPTH_VAR, OsString::from_vec(depth)),
            (PASSED_VAR, OsString::from_vec(passed)),
        ]
    }
}

/// `n` in lowercase hexadecimal, as `{:x}` writes it.
fn push_hex(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// What the depth check needs to know about this process.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub pid: u32,
    pub ppid: u32,
    /// A monotonic clock in milliseconds (any origin: only differences count).
    pub ms: u64,
}

impl Facts {
    pub fn now() -> Facts {
        Facts {
            pid: std::process::id(),
            ppid: crate::platform::parent_pid(),
            ms: crate::platform::monotonic_ms(),
        }
    }
}

struct Depth {
    count: u32,
    pid: u32,
    hop: u64,
    ms: u64,
    script: bool,
}

/// `N:PID:HASH:MS:SCRIPT`; anything else (garbage, an older format) is no
/// count.
fn parse_depth(v: &OsStr) -> Option<Depth> {
    let s = v.to_str()?;
    let mut parts = s.split(':');
    let count = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    let hop = u64::from_str_radix(parts.next()?, 16).ok()?;
    let ms = parts.next()?.parse().ok()?;
    let script = match parts.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Depth {
        count,
        pid,
        hop,
        ms,
        script,
    })
}

/// `DEV.INO:DEV.INO…`; entries that do not parse are dropped.
fn parse_passed(v: &OsStr) -> impl Iterator<Item = FileId> + '_ {
    v.as_bytes()
        .split(|&b| b == b':')
        .filter_map(|e| {
            let s = std::str::from_utf8(e).ok()?;
            let (dev, ino) = s.split_once('.')?;
            Some((dev.parse().ok()?, ino.parse().ok()?))
        })
        .take(MAX_PASSED)
}

/// A fingerprint of one hop: the name, every argument and the working
/// directory (FNV-1a; collisions only ever make a loop look like nesting).
pub fn hop_hash<A: AsRef<OsStr>>(name: &OsStr, args: &[A], cwd: Option<&Path>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes.iter().chain(&[0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(name.as_bytes());
    for a in args {
        feed(a.as_ref().as_bytes());
    }
    feed(cwd.map_or(&b""[..], |c| c.as_os_str().as_bytes()));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Facts = Facts {
        pid: 100,
        ppid: 50,
        ms: 10_000,
    };

    fn chain(depth: &str, passed: &str) -> Chain {
        Chain::new(
            Some(OsStr::new(depth)),
            Some(OsStr::new(passed)),
            Some((1, 2)),
            || 0xab,
            || NOW,
        )
    }

    #[test]
    fn the_same_process_back_at_once_counts() {
        assert_eq!(chain("5:100:ab:9990:0", "").depth, 5);
        assert_eq!(chain("5:100:cd:9990:1", "").depth, 5);
    }

    #[test]
    fn the_same_process_back_much_later_has_run_in_between() {
        assert_eq!(chain("5:100:ab:8000:0", "").depth, 0);
    }

    #[test]
    fn a_child_counts_only_for_the_very_same_command_under_a_script() {
        assert_eq!(chain("5:50:ab:1:1", "").depth, 5);
        assert_eq!(chain("5:50:cd:9999:1", "").depth, 0);
        // The child of a real interpreter is nesting, not a loop.
        assert_eq!(chain("5:50:ab:9999:0", "").depth, 0);
    }

    #[test]
    fn an_unrelated_process_starts_over() {
        assert_eq!(chain("31:7:ab:9999:1", "").depth, 0);
    }

    #[test]
    fn garbage_is_no_count() {
        for v in [
            "",
            "garbage",
            "-1",
            "99999999999999999999999",
            "3",
            "1:100:zz:9999:0",
            "1:100:ab:9999:2",
            "1:100:ab:9999:0:0",
            "1:100:ab",
        ] {
            assert_eq!(chain(v, "").depth, 0, "{v}");
        }
    }

    #[test]
    fn passed_keeps_me_first_and_drops_duplicates_and_garbage() {
        let c = chain("", "3.4:1.2:x:5.:3.4:7.8");
        assert_eq!(c.passed, [(1, 2), (3, 4), (7, 8)]);
        let [_, (_, v)] = c.fall_through_vars(&NOW, 0xab, false);
        assert_eq!(v, "1.2:3.4:7.8");
    }

    #[test]
    fn the_count_goes_up_by_one_per_hop() {
        let c = chain("4:100:ab:9999:0", "");
        let [(_, v), _] = c.fall_through_vars(&NOW, 0xab, true);
        assert_eq!(v, "5:100:ab:10000:1");
        let again = Chain::new(Some(&v), None, None, || 0xab, || NOW);
        assert_eq!(again.depth, 5);
    }

    #[test]
    fn the_values_are_written_as_format_would() {
        let c = Chain {
            depth: 0,
            passed: vec![(0, 0), (u64::MAX, 10), (9, u64::MAX)],
            me: true,
        };
        let now = Facts {
            pid: u32::MAX,
            ppid: 1,
            ms: u64::MAX,
        };
        let [(depth_var, depth), (passed_var, passed)] = c.fall_through_vars(&now, u64::MAX, false);
        assert_eq!((depth_var, passed_var), (DEPTH_VAR, PASSED_VAR));
        assert_eq!(
            depth,
            "1:4294967295:ffffffffffffffff:18446744073709551615:0"
        );
        assert_eq!(passed, "0.0:18446744073709551615.10:9.18446744073709551615");
        let none = Chain::new(None, None, None, || 0, || NOW);
        let [(_, depth), (_, passed)] = none.fall_through_vars(&NOW, 0, true);
        assert_eq!(depth, "1:100:0:10000:1");
        assert_eq!(passed, "");
    }

    #[test]
    fn hops_differ_by_argument_and_directory() {
        let a = |args: &[&str], cwd: &str| {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            hop_hash(OsStr::new("python"), &args, Some(Path::new(cwd)))
        };
        assert_eq!(a(&["x.py"], "/p"), a(&["x.py"], "/p"));
        assert_ne!(a(&["x.py"], "/p"), a(&["y.py"], "/p"));
        assert_ne!(a(&["x.py"], "/p"), a(&["x.py"], "/q"));
        assert_ne!(a(&["a", "b"], "/p"), a(&["ab"], "/p"));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the numbers, the very bytes `format!` would give.
        #[test]
        fn fall_through_vars_match_format(
            depth in 0..MAX_DEPTH,
            passed in proptest::collection::vec(any::<(u64, u64)>(), 0..MAX_PASSED),
            pid in any::<u32>(),
            ms in any::<u64>(),
            hop in any::<u64>(),
            script in any::<bool>(),
        ) {
            let c = Chain { depth, passed: passed.clone(), me: false };
            let now = Facts { pid, ppid: 0, ms };
            let [(_, d), (_, p)] = c.fall_through_vars(&now, hop, script);
            let want = format!("{}:{pid}:{hop:x}:{ms}:{}", depth + 1, u8::from(script));
            prop_assert_eq!(d, OsString::from(want));
            let want: Vec<String> = passed.iter().map(|(dev, ino)| format!("{dev}.{ino}")).collect();
            prop_assert_eq!(p, OsString::from(want.join(":")));
        }
    }
}
