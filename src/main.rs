//! The `mnist-gpu` command line. Library errors get their context here and leave as one line on
//! stderr with a non-zero exit status: 2 for a usage error (an unknown flag, a value that does
//! not parse), 1 for every other error, 130 for a run stopped by Ctrl-C or SIGTERM.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

/// Exit status of a usage error, as clap and most command-line tools use.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    // A bug must still end as one readable line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {info}");
    }));
    quiet_headless_vulkan();
    end_quietly_on_closed_pipe();
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) => return usage_error(err),
    };
    // Ctrl-C and SIGTERM are handled the same way by every command, at every phase.
    cli::interrupt::install();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(cli::Exit(code)) = err.downcast_ref::<cli::Exit>() {
                return ExitCode::from(*code);
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` print as clap prints them; a usage error becomes one line, with
/// clap's tip when it has one and where to read more.
fn usage_error(err: clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    eprintln!("{}", one_line(&err.render().to_string()));
    ExitCode::from(USAGE_ERROR)
}

/// clap's message (`error: …`, tips, a usage line, "For more information, try '--help'.")
/// folded into one line.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines.next().unwrap_or("error: bad arguments").to_string();
    if !line.starts_with("error:") {
        line = format!("error: {line}");
    }
    let mut more = None;
    for rest in lines {
        if let Some(tip) = rest.strip_prefix("tip:") {
            line.push_str(&format!(" ({})", tip.trim()));
        } else if let Some(usage) = rest.strip_prefix("Usage:") {
            // `mnist-gpu train [OPTIONS]` → where its flags are listed.
            let command: Vec<&str> = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect();
            more = Some(format!("; see '{} --help'", command.join(" ")));
        } else if !rest.starts_with("For more information") {
            // The lines a message lists, such as the missing arguments.
            line.push(' ');
            line.push_str(rest);
        }
    }
    line.push_str(&more.unwrap_or_else(|| format!("; see '{}'", help_command())));
    line
}

/// `mnist-gpu train --help` when a sub-command was named on the command line, else
/// `mnist-gpu --help`.
fn help_command() -> String {
    const COMMANDS: [&str; 8] = [
        "train", "download", "show", "eval", "predict", "devices", "serve", "bench",
    ];
    match std::env::args()
        .skip(1)
        .find(|a| COMMANDS.contains(&a.as_str()))
    {
        Some(command) => format!("mnist-gpu {command} --help"),
        None => "mnist-gpu --help".to_string(),
    }
}

/// `mnist-gpu eval ... | head` closes the pipe early: end quietly, as other Unix tools do
/// (Rust ignores SIGPIPE, which would turn the next `println!` into a panic).
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not set" on stderr when
/// they probe for a Wayland display on a headless machine (CI, containers, ssh). Pointing the
/// variable at the temp folder, only when it is unset, keeps stderr for our own messages.
fn quiet_headless_vulkan() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}
