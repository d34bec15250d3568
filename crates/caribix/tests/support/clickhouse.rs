//! A private ClickHouse server for a test: Debian's `clickhouse-server`
//! (18.16) started with a config of our own in a scratch directory, on free
//! 127.0.0.1 ports, killed by PID and its directory removed when dropped. A
//! missing server binary fails the test.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    child: Child,
    dir: PathBuf,
    /// Its HTTP port on 127.0.0.1.
    pub http_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a server and waits (at most 60 s) until it answers a query.
pub fn start() -> Server {
    let bin = super::require(
        &["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"],
        "clickhouse-server",
    );
    let (http_port, tcp_port) = (super::free_tcp(), super::free_tcp());
    let dir =
        std::env::temp_dir().join(format!("caribix-e2e-ch-{}-{http_port}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).expect("create the ClickHouse directory");
    let d = dir.display();
    std::fs::write(
        dir.join("config.xml"),
        format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
"#
        ),
    )
    .expect("write config.xml");
    std::fs::write(
        dir.join("users.xml"),
        r#"<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#,
    )
    .expect("write users.xml");
    let child = Command::new(bin)
        .arg(format!("--config-file={d}/config.xml"))
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
    let mut s = Server {
        child,
        dir,
        http_port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", http_port)).is_ok()
            && flowstore::ClickhouseStore::open("127.0.0.1", http_port, "probe").is_ok()
        {
            return s;
        }
        if let Ok(Some(status)) = s.child.try_wait() {
            let log = std::fs::read_to_string(s.dir.join("error.log")).unwrap_or_default();
            panic!("clickhouse-server exited with {status}: {log}");
        }
        assert!(
            Instant::now() < deadline,
            "clickhouse-server did not answer on 127.0.0.1:{http_port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
