// SPDX-License-Identifier: GPL-2.0

//! Reading a sysctl that the kernel does not export to modules (`pid_max`), through its
//! `/proc/sys` file, as user space would.

use super::bindings;
use kernel::str::CStrExt as _;
use kernel::{error::from_err_ptr, prelude::*, str::CStr};

/// Reads an integer sysctl such as `/proc/sys/kernel/pid_max`.
pub(crate) fn read_int(path: &CStr) -> Result<i64> {
    // SAFETY: `path` is NUL-terminated; the flags ask for a plain read-only open.
    let file = from_err_ptr(unsafe {
        bindings::filp_open(path.as_char_ptr(), bindings::O_RDONLY as i32, 0)
    })?;
    let mut buf = [0u8; 24];
    let mut pos: bindings::loff_t = 0;
    // SAFETY: `file` was opened above and `buf` is valid for `buf.len()` bytes.
    let n = unsafe { bindings::kernel_read(file, buf.as_mut_ptr().cast(), buf.len(), &mut pos) };
    // SAFETY: `file` was opened above and is closed exactly once.
    unsafe { bindings::filp_close(file, core::ptr::null_mut()) };
    let n = usize::try_from(n).map_err(|_| Error::from_errno(n as i32))?;
    let text = buf.get(..n).ok_or(EINVAL)?;
    let mut value: i64 = 0;
    let mut digits = 0;
    for &c in text.iter().take_while(|c| c.is_ascii_digit()) {
        value = value.checked_mul(10).and_then(|v| v.checked_add(i64::from(c - b'0'))).ok_or(EINVAL)?;
        digits += 1;
    }
    if digits == 0 {
        return Err(EINVAL);
    }
    Ok(value)
}
