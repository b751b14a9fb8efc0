//! The README's lists of what the program offers (commands, presets, activations, losses,
//! inits, optimisers, schedules, preprocessings) are checked against the program's own `--help`,
//! which clap writes from the definitions: adding an activation or a command without the README
//! fails here, and so does a README naming one that is gone.

use std::collections::BTreeSet;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable")
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args(args)
        .output()
        .expect("mnist-gpu runs");
    assert!(out.status.success(), "mnist-gpu {args:?} failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The possible values clap lists for `flag` in a long `--help`, in either of its two layouts
/// (`[possible values: a, b]`, or a `Possible values:` block of `- a: …` lines).
fn possible_values(help: &str, flag: &str) -> BTreeSet<String> {
    let start = help
        .find(&format!("      {flag} <"))
        .unwrap_or_else(|| panic!("{flag} is in --help"));
    let section = &help[start..];
    // The flag's section ends where the next flag starts.
    let end = section[1..]
        .find("\n      -")
        .map_or(section.len(), |i| i + 1);
    let section = &section[..end];
    if let Some(i) = section.find("[possible values: ") {
        let rest = &section[i + "[possible values: ".len()..];
        let list = &rest[..rest.find(']').expect("closing bracket")];
        return list.split(", ").map(str::to_string).collect();
    }
    let i = section
        .find("Possible values:")
        .unwrap_or_else(|| panic!("{flag} lists its possible values"));
    section[i..]
        .lines()
        .skip(1)
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(|item| item.split(':').next().unwrap_or(item).trim().to_string())
        .collect()
}

/// The values the README lists as `` `FLAG a|b|c` ``.
fn readme_values(readme: &str, flag: &str) -> BTreeSet<String> {
    let marker = format!("`{flag} ");
    let start = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README lists {flag}'s values as `{flag} a|b`"));
    let rest = &readme[start + marker.len()..];
    let list = &rest[..rest.find('`').expect("closing backquote")];
    list.split('|').map(str::to_string).collect()
}

#[test]
fn readme_lists_every_choice_of_train() {
    let (readme, help) = (readme(), help(&["train", "--help"]));
    for flag in [
        "--activation",
        "--loss",
        "--init",
        "--optimizer",
        "--lr-schedule",
        "--preprocess",
    ] {
        assert_eq!(
            readme_values(&readme, flag),
            possible_values(&help, flag),
            "README's {flag} list against train --help"
        );
    }
}

#[test]
fn readme_lists_every_preset() {
    let (readme, help) = (readme(), help(&["train", "--help"]));
    let listed: BTreeSet<String> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| !name.contains(' '))
        .map(str::to_string)
        .collect();
    assert_eq!(listed, possible_values(&help, "--preset"));
}

#[test]
fn readme_lists_every_command() {
    let (readme, help) = (readme(), help(&["--help"]));
    let commands: BTreeSet<String> = help
        .split("Commands:")
        .nth(1)
        .expect("--help lists commands")
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("    "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    let listed: BTreeSet<String> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `mnist-gpu "))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect();
    assert_eq!(listed, commands);
}

/// The README's Python that reads a digit with ONNX Runtime is docs/onnx.md's snippet, which
/// tests/onnx.rs runs: the two cannot drift apart.
#[test]
fn readme_python_is_the_tested_snippet() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/onnx.md"))
        .expect("docs/onnx.md is readable");
    let snippet = doc
        .split("<!-- snippet: read_digit.py")
        .nth(1)
        .and_then(|rest| rest.split("```python\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("docs/onnx.md holds the snippet");
    assert!(
        readme().contains(&format!("```python\n{snippet}```")),
        "README.md's ONNX Runtime example differs from docs/onnx.md's tested snippet"
    );
}
