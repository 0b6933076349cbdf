//! A server whose answer never ends, to see how much of a body the client lets through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP/1.1 server that answers every request with 200 and an endless-looking JSON body:
/// `total` bytes in 64 KiB chunks with a pause between them, chunked or with a Content-Length
/// announcing the whole. It counts the bytes the kernel accepted, so a test can see how much the
/// client let through before it hung up.
pub struct Firehose {
    pub url: String,
    pub sent: Arc<AtomicU64>,
    /// Set when a write failed: the client closed the connection.
    pub hung_up: Arc<AtomicUsize>,
}

pub const FIREHOSE_CHUNK: usize = 64 * 1024;

impl Firehose {
    pub async fn start(total: u64, announce_length: bool, pause: Duration) -> Firehose {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/realm", listener.local_addr().unwrap());
        let sent = Arc::new(AtomicU64::new(0));
        let hung_up = Arc::new(AtomicUsize::new(0));
        let (counter, hangups) = (sent.clone(), hung_up.clone());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (counter, hangups) = (counter.clone(), hangups.clone());
                tokio::spawn(async move {
                    // The request head (and a small form body) arrive in one read on loopback.
                    let mut request = [0u8; 16 * 1024];
                    let _ = socket.read(&mut request).await;
                    let framing = if announce_length {
                        format!("Content-Length: {total}")
                    } else {
                        "Transfer-Encoding: chunked".to_owned()
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
                    );
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    // A JSON string that never closes: `{"keys":"aaaa...`.
                    let mut first = true;
                    let mut left = total;
                    while left > 0 {
                        let size = left.min(FIREHOSE_CHUNK as u64) as usize;
                        let mut data = vec![b'a'; size];
                        if first {
                            data[..9].copy_from_slice(b"{\"keys\":\"");
                            first = false;
                        }
                        let framed = if announce_length {
                            data
                        } else {
                            let mut framed = format!("{size:x}\r\n").into_bytes();
                            framed.extend_from_slice(&data);
                            framed.extend_from_slice(b"\r\n");
                            framed
                        };
                        if socket.write_all(&framed).await.is_err() {
                            hangups.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        counter.fetch_add(size as u64, Ordering::SeqCst);
                        left -= size as u64;
                        tokio::time::sleep(pause).await;
                    }
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                });
            }
        });
        Firehose { url, sent, hung_up }
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}
