//! gpid-bench: micro-benchmarks run inside the guest, each against the stock kernel's nearest
//! equivalent measured in the same boot. Prints `benchmark  stock  gpid  ratio` rows
//! (nanoseconds per operation, median of several rounds).

use std::time::Instant;

const ROUNDS: usize = 7;

/// Median nanoseconds per call of `op` over `ROUNDS` rounds of `iters` calls.
fn ns_per_op(iters: u32, mut op: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                op();
            }
            t.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[ROUNDS / 2]
}

fn row(name: &str, stock: f64, gpid: f64) {
    println!(
        "{name:<40} {stock:>10.1} {gpid:>10.1} {:>8.2}",
        gpid / stock
    );
}

fn main() -> std::io::Result<()> {
    let iters: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let dev = gpid::Device::open()?;
    println!(
        "{:<40} {:>10} {:>10} {:>8}",
        "benchmark (ns/op)", "stock", "gpid", "ratio"
    );
    let stock = ns_per_op(iters, || {
        // SAFETY: getppid has no preconditions.
        std::hint::black_box(unsafe { libc::getppid() });
    });
    let gpid = ns_per_op(iters, || {
        std::hint::black_box(dev.version().ok());
    });
    row("version ioctl vs getppid", stock, gpid);
    Ok(())
}
