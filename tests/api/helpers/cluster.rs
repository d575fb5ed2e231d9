//! A throwaway PostgreSQL cluster that a test may stop and start (the shared server of the
//! other PostgreSQL tests is never stopped): `initdb` in a temp dir, a free port, `pg_ctl`.
//! The binaries come from `/usr/lib/postgresql/<version>/bin` (or `GAZETTE_TEST_PG_BIN`);
//! as root, they run as the `postgres` user, since PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster, removed when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

/// Where `initdb` and `pg_ctl` are: `GAZETTE_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("GAZETTE_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Cluster {
    /// Creates and starts a cluster; `None`, saying why, when the binaries are not installed.
    pub async fn start() -> Option<Self> {
        let Some(bin) = bin_dir() else {
            eprintln!(
                "SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin \
                 or GAZETTE_TEST_PG_BIN; this test needs a cluster it may stop"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            cluster.run(
                "chown",
                &["-R", "postgres:postgres", &cluster.path()],
                false,
            );
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "-N"],
            true,
        );
        cluster.start_again().await;
        Some(cluster)
    }

    fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs `program` (one of the cluster's binaries when `pg`), as `postgres` when root.
    fn run(&self, program: &str, args: &[&str], pg: bool) {
        let exe = if pg {
            self.bin.join(program)
        } else {
            Path::new(program).to_owned()
        };
        let mut cmd = if self.as_postgres && pg {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect("run a PostgreSQL binary");
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn pg_ctl(&self, args: Vec<String>) {
        let this = (self.bin.clone(), self.as_postgres);
        let run = move || {
            let exe = this.0.join("pg_ctl");
            let mut cmd = if this.1 {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&exe);
                c
            } else {
                Command::new(&exe)
            };
            cmd.args(&args).output().expect("run pg_ctl")
        };
        let out = tokio::task::spawn_blocking(run).await.expect("pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it as an operator would for maintenance: `pg_ctl stop -m fast` (sessions are
    /// terminated, open transactions rolled back), waiting until it is down.
    pub async fn stop(&self) {
        self.pg_ctl(
            ["stop", "-D", &self.data(), "-m", "fast", "-w"]
                .map(String::from)
                .to_vec(),
        )
        .await;
    }

    /// Starts it (again), waiting until it accepts connections.
    pub async fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.path()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.pg_ctl(
            [
                "start",
                "-D",
                &self.data(),
                "-w",
                "-l",
                &log,
                "-o",
                &options,
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd
            .args(["stop", "-D", &self.data(), "-m", "immediate", "-w"])
            .output();
    }
}
