# Sourced by the scripts: the pinned Rust toolchain, cargo-installed tools and the cache.
export RUSTUP_TOOLCHAIN=$RUST_TOOLCHAIN
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
export GPID_CACHE=${GPID_CACHE:-$HOME/.cache/gpid}
