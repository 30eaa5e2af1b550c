//! gpid-msq: a tiny SysV message queue tool for the demo (busybox has none that sends or
//! receives): the stock kernel's side of `gpidctl msq`.
//!
//! usage: gpid-msq create | send MSQID TEXT | recv MSQID | stat MSQID | rmid MSQID  [--hold]
//!   create   a new private queue (mode 0600); prints its msqid
//!   send     msgsnd TEXT (mtype 1)
//!   recv     msgrcv the first message (blocking); prints its text
//!   stat     msgctl(IPC_STAT): msg_lspid, msg_lrpid and msg_qnum as the kernel gives them
//!   rmid     msgctl(IPC_RMID)
//!   --hold   then sleep until killed, so that the process (and its PID) stays alive

use std::process::ExitCode;

const USAGE: &str =
    "usage: gpid-msq create | send MSQID TEXT | recv MSQID | stat MSQID | rmid MSQID";

#[repr(C)]
struct MsgBuf {
    mtype: libc::c_long,
    text: [u8; 4096],
}

fn fail(what: &str) -> ExitCode {
    eprintln!("gpid-msq: {what}: {}", std::io::Error::last_os_error());
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let hold = args.last().is_some_and(|a| a == "--hold");
    if hold {
        args.pop();
    }
    let id = |i: usize| args.get(i).and_then(|s| s.parse::<i32>().ok());
    match (args.first().map(String::as_str), id(1)) {
        (Some("create"), _) if args.len() == 1 => {
            // SAFETY: plain syscall.
            let r = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
            if r < 0 {
                return fail("msgget");
            }
            println!("{r}");
        }
        (Some("send"), Some(q)) if args.len() == 3 => {
            let text = args[2].as_bytes();
            let mut b = MsgBuf {
                mtype: 1,
                text: [0; 4096],
            };
            let n = text.len().min(b.text.len());
            b.text[..n].copy_from_slice(&text[..n]);
            // SAFETY: `b` is a valid msgbuf with at least `n` bytes of text.
            if unsafe { libc::msgsnd(q, (&b as *const MsgBuf).cast(), n, 0) } < 0 {
                return fail("msgsnd");
            }
        }
        (Some("recv"), Some(q)) if args.len() == 2 => {
            let mut b = MsgBuf {
                mtype: 0,
                text: [0; 4096],
            };
            // SAFETY: `b` has room for `b.text.len()` bytes of text.
            let n = unsafe { libc::msgrcv(q, (&mut b as *mut MsgBuf).cast(), b.text.len(), 0, 0) };
            if n < 0 {
                return fail("msgrcv");
            }
            println!("{}", String::from_utf8_lossy(&b.text[..n as usize]));
        }
        (Some("stat"), Some(q)) if args.len() == 2 => {
            // SAFETY: msqid_ds is plain data; the kernel fills it.
            let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
            // SAFETY: a valid out pointer.
            if unsafe { libc::msgctl(q, libc::IPC_STAT, &mut ds) } < 0 {
                return fail("msgctl(IPC_STAT)");
            }
            println!(
                "msg_lspid {}  msg_lrpid {}  msg_qnum {}",
                ds.msg_lspid, ds.msg_lrpid, ds.msg_qnum
            );
        }
        (Some("rmid"), Some(q)) if args.len() == 2 => {
            // SAFETY: IPC_RMID takes no buffer.
            if unsafe { libc::msgctl(q, libc::IPC_RMID, std::ptr::null_mut()) } < 0 {
                return fail("msgctl(IPC_RMID)");
            }
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    if hold {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }
    ExitCode::SUCCESS
}
