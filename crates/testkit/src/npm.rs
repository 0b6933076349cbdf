//! The harness of the interoperability tests that run npm packages under node.
//!
//! A test's folder holds its scripts, a `package.json` and the committed `package-lock.json`; the
//! packages are installed from the npm registry on first run (`npm ci`) and kept in the folder's
//! `node_modules`. Without node or npm the test fails, so that CI cannot pass by skipping it;
//! BANKID_OIDC_SKIP_INTEROP=1 skips it on purpose.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The variable that, set to `1`, skips the interoperability tests.
pub const SKIP_VARIABLE: &str = "BANKID_OIDC_SKIP_INTEROP";

/// Whether the interoperability tests are skipped on purpose; says so on stderr when they are.
pub fn skip_requested() -> bool {
    let skip = std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1");
    if skip {
        eprintln!("skipped: {SKIP_VARIABLE}=1");
    }
    skip
}

/// A folder of node scripts and the npm package they are tested with.
#[derive(Debug, Clone)]
pub struct NodeProject {
    dir: PathBuf,
    package: String,
}

// Tests of one binary run in parallel; two `npm ci` in one folder would trip over each other.
static INSTALLING: Mutex<()> = Mutex::new(());

impl NodeProject {
    /// The folder `dir` (with `package.json` and `package-lock.json`), whose tests are about
    /// `package`: once `node_modules/<package>` is there, the folder counts as installed.
    pub fn new(dir: impl Into<PathBuf>, package: &str) -> NodeProject {
        NodeProject {
            dir: dir.into(),
            package: package.to_owned(),
        }
    }

    /// Checks that node and npm are on PATH and runs `npm ci` in the folder, unless an earlier
    /// run installed it already.
    pub fn install(&self) {
        self.require("node");
        self.require("npm");
        let _installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
        let installed = self
            .dir
            .join("node_modules")
            .join(&self.package)
            .join("package.json");
        if installed.exists() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&self.dir)
            .status()
            .expect("running npm ci");
        assert!(status.success(), "npm ci in {} failed", self.dir.display());
    }

    /// `node <script>` in the folder, for the test to add its environment and pipes.
    pub fn node(&self, script: &str) -> Command {
        let mut command = Command::new("node");
        command.arg(script).current_dir(&self.dir);
        command
    }

    fn require(&self, tool: &str) {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "the {} interoperability test needs `{tool}` on PATH (install Node.js 20.19+ with npm, \
             e.g. `apt-get install nodejs npm`), or set {SKIP_VARIABLE}=1 to skip it",
            self.package
        );
    }
}
