//! The static glibc build on x86-64 Linux starts at its own entry point
//! (src/platform/start.rs), which hides the environment from glibc's
//! start-up. Every other build keeps the usual `_start`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(venvexec_own_start)");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let static_glibc = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static");
    if static_glibc {
        println!("cargo::rustc-cfg=venvexec_own_start");
        println!("cargo::rustc-link-arg-bins=-Wl,--entry=venvexec_start");
    }
}
