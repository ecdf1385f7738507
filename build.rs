//! Build script: on Linux with glibc, links the unwinder (used only for backtraces;
//! panics abort) statically from libgcc_eh instead of loading libgcc_s.so at every
//! start. That shared library is most of what `wandb-cred get` would spend in the
//! dynamic loader (BENCHMARKS.md).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-lib=static:-bundle=gcc_eh");
    }
}
