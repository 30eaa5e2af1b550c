# Sourced by the scripts: the user-space Rust toolchain, cargo-installed tools and the cache.
export RUSTUP_TOOLCHAIN=$RUST_TOOLCHAIN
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
export GPID_CACHE=${GPID_CACHE:-$HOME/.cache/gpid}

# gpid_kernel_env FILE: the toolchain of the kernel whose `versions` FILE (scripts/debian-kernel)
# is given, for
# kernel and module builds. Rust symbol names hash rustc's version string, so the module is
# compiled by the release Debian's config names, reporting exactly Debian's string.
gpid_kernel_env() {
	# shellcheck disable=SC1091
	. "$1"
	export RUSTUP_TOOLCHAIN=$KERNEL_RUSTC_VERSION
	export RUSTC_FORCE_RUSTC_VERSION=$KERNEL_RUSTC_VERSION_TEXT
	export PATH=$GPID_CACHE/tools/bindgen-$KERNEL_BINDGEN_VERSION/bin:$PATH
	export LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VERSION/lib
}
