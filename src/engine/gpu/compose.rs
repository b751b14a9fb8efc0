//! The WGSL composer: joins a kernel with the library files it `#import`s and expands its
//! `#unroll` blocks. Shared by the engine (which composes the source each pipeline compiles)
//! and the build script (which reads every kernel's bindings through naga), so it depends on
//! nothing but std and reports errors as text.

/// Resolves `#import name` lines of `source` (each library file once) into `out`, and expands
/// `#unroll NAME COUNT` … `#end` blocks (see [`unroll`]).
pub fn compose(
    name: &str,
    source: &str,
    library: &[(&str, &str)],
    seen: &mut Vec<String>,
    out: &mut String,
) -> Result<(), String> {
    let source = unroll(name, source)?;
    for line in source.lines() {
        if let Some(import) = line.trim().strip_prefix("#import ") {
            let import = import.trim();
            if seen.iter().any(|s| s == import) {
                continue;
            }
            let Some((_, text)) = library.iter().find(|(lib, _)| *lib == import) else {
                return Err(format!("kernel {name}: unknown WGSL import {import:?}"));
            };
            seen.push(import.to_string());
            compose(import, text, library, seen, out)?;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(())
}

/// Expands `#unroll NAME COUNT` … `#end`: the lines between are written COUNT times, `{NAME}`
/// replaced by 0, 1, … COUNT − 1. WGSL has no unrolling guarantee and a register block held in
/// an indexed array may spill to memory (lavapipe does), so the register-block kernels keep
/// their block in named variables; this writes them out from one line each. Blocks nest.
fn unroll(name: &str, source: &str) -> Result<String, String> {
    let bad = |why: String| format!("kernel {name}: {why}");
    let mut out = String::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let Some(spec) = line.trim().strip_prefix("#unroll ") else {
            if line.trim() == "#end" {
                return Err(bad("#end without #unroll".into()));
            }
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let mut words = spec.split_whitespace();
        let (Some(var), Some(count), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad(format!("#unroll needs a name and a count: {line:?}")));
        };
        let count: u32 = count
            .parse()
            .map_err(|_| bad(format!("#unroll count is not a number: {line:?}")))?;
        // The block's body, up to the #end that closes it.
        let (mut body, mut depth) = (String::new(), 1);
        for inner in lines.by_ref() {
            let trimmed = inner.trim();
            if trimmed.starts_with("#unroll ") {
                depth += 1;
            } else if trimmed == "#end" {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            body.push_str(inner);
            body.push('\n');
        }
        if depth != 0 {
            return Err(bad(format!("#unroll {var} has no #end")));
        }
        let pattern = format!("{{{var}}}");
        for i in 0..count {
            out.push_str(&unroll(name, &body.replace(&pattern, &i.to_string()))?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_import_is_an_error() {
        let mut out = String::new();
        assert!(compose("k", "#import nowhere\n", &[], &mut Vec::new(), &mut out).is_err());
        let unrolled = unroll(
            "k",
            "a\n#unroll r 2\n#unroll c 2\nx{r}{c} y{r}\n#end\n#end\nb\n",
        )
        .expect("unroll");
        assert_eq!(unrolled, "a\nx00 y0\nx01 y0\nx10 y1\nx11 y1\nb\n");
        assert!(unroll("k", "#unroll r 2\nx\n").is_err());
        assert!(unroll("k", "#end\n").is_err());
        assert!(unroll("k", "#unroll r two\n#end\n").is_err());
    }
}
