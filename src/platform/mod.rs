//! The few things that differ between unixes, behind one door.

#[cfg(target_os = "linux")]
pub mod procfs;
