//! A `serve` process of the real binary with its stdout and stderr in files (not terminals),
//! waited for until its banner's last line. Shared by the CLI tests that start the server
//! (`#[path = "common/served.rs"] mod served;`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, from the banner's `Listening on` line.
    pub base: String,
    pub banner: String,
    stderr: PathBuf,
}

impl Served {
    /// Spawns `command` (a `bankid-oidc ... serve` without its output set) with its output in
    /// `stdout` and `stderr`, and waits up to a minute for the banner.
    pub fn spawn(mut command: Command, stdout: &Path, stderr: &Path) -> Served {
        let mut child = command
            .stdout(std::fs::File::create(stdout).unwrap())
            .stderr(std::fs::File::create(stderr).unwrap())
            .spawn()
            .unwrap();
        for _ in 0..1200 {
            let banner = std::fs::read_to_string(stdout).unwrap_or_default();
            if let Some(line) = banner.lines().find(|l| l.starts_with("Listening on ")) {
                let base = line.trim_start_matches("Listening on ").to_owned();
                return Served {
                    child,
                    base,
                    banner,
                    stderr: stderr.to_owned(),
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("no banner: {}", std::fs::read_to_string(stderr).unwrap());
    }

    /// The value after `label` on the banner's first line that has it.
    #[allow(dead_code)]
    pub fn value_after(&self, label: &str) -> String {
        self.banner
            .lines()
            .find_map(|l| l.trim().split_once(label).map(|(_, v)| v.trim().to_owned()))
            .unwrap()
    }

    /// Kills the server; its log (stderr).
    pub fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut log = String::new();
        std::fs::File::open(&self.stderr)
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}
