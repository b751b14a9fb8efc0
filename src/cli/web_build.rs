//! Where `serve` looks for the page's in-browser trainer (`tools/build-web`'s output).

use std::path::{Path, PathBuf};

use mnist_gpu::serve::files::PKG_FILES;

/// The folders to look in, in order: `--web`, else the environment's folder, else the `web`
/// folder beside this program's folder (`target/web` for `target/release/mnist-gpu`), then the
/// user data folder's `mnist-gpu/web`, where `tools/build-web` installs the build for an
/// installed binary (`~/.cargo/bin` has no `web` beside it).
pub fn candidates(
    flag: Option<&Path>,
    env: Option<&Path>,
    exe: Option<&Path>,
    data_dir: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(dir) = flag.or(env) {
        return vec![dir.to_path_buf()];
    }
    let beside = exe
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(|dir| dir.join("web"));
    let installed = data_dir.map(|dir| dir.join("mnist-gpu").join("web"));
    beside.into_iter().chain(installed).collect()
}

/// The first folder holding the whole build.
pub fn first_built(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|dir| PKG_FILES.iter().all(|(name, _)| dir.join(name).is_file()))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_or_the_environment_is_the_only_place_looked() {
        let p = |s: &str| PathBuf::from(s);
        let exe = p("/home/u/.cargo/bin/mnist-gpu");
        let data = p("/home/u/.local/share");
        assert_eq!(
            candidates(Some(&p("w")), Some(&p("e")), Some(&exe), Some(&data)),
            [p("w")]
        );
        assert_eq!(
            candidates(None, Some(&p("e")), Some(&exe), Some(&data)),
            [p("e")]
        );
        assert_eq!(
            candidates(None, None, Some(&exe), Some(&data)),
            [
                p("/home/u/.cargo/web"),
                p("/home/u/.local/share/mnist-gpu/web")
            ]
        );
    }
}
