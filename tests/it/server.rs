//! A fake W&B server on 127.0.0.1 for `--verify`: it records every request and answers
//! `/graphql` the way the real server does for a good key, a bad key, or not at all.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a viewer.
    Viewer {
        username: &'static str,
        entity: &'static str,
        teams: &'static [&'static str],
    },
    /// 200 with a viewer whose username and entity depend on the key sent (each key's
    /// entity; any other key is refused with 401).
    EntityPerKey(Vec<(String, String)>),
    /// 401 with the real server's error body.
    Unauthorized,
    /// 200 with `viewer: null`.
    NullViewer,
    /// Reads the request and never answers.
    Silent,
    /// Not a W&B server: this status and a plain-text body.
    NotWandb(u16),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakeServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    pub fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, halt) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (reqs, halt, reply) = (reqs.clone(), halt.clone(), reply.clone());
                std::thread::spawn(move || serve(stream, &reply, &reqs, &halt));
            }
        });
        Self {
            port,
            requests,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The Authorization headers of the requests after the first `seen`.
    pub fn authorizations_since(&self, seen: usize) -> Vec<String> {
        self.requests()[seen..]
            .iter()
            .filter_map(|r| r.header("Authorization").map(str::to_owned))
            .collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A port with nothing listening on it.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn serve(stream: TcpStream, reply: &Reply, requests: &Mutex<Vec<Request>>, stop: &AtomicBool) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let per_key = match reply {
            Reply::EntityPerKey(entities) => Some(
                entities
                    .iter()
                    .find(|(key, _)| {
                        let key =
                            wandb_cred::key::ApiKey::parse(zeroize::Zeroizing::new(key.clone()))
                                .expect("a valid key");
                        request.header("Authorization")
                            == Some(wandb_cred::verify::basic_credentials(&key).as_str())
                    })
                    .map(|(_, entity)| entity.clone()),
            ),
            _ => None,
        };
        requests.lock().unwrap().push(request);
        let (status, body) = match (reply, per_key) {
            (Reply::EntityPerKey(_), Some(Some(entity))) => (
                200,
                serde_json::json!({"data": {"viewer": {
                    "id": "VXNlcjox", "entity": entity, "username": entity,
                    "email": format!("{entity}@example.com"), "flags": "{}",
                    "teams": {"edges": []}
                }}})
                .to_string(),
            ),
            (Reply::EntityPerKey(_), _) => (
                401,
                r#"{"errors":[{"message":"user is not logged in"}]}"#.to_owned(),
            ),
            (reply, _) => match reply {
                Reply::Viewer {
                    username,
                    entity,
                    teams,
                } => {
                    let edges: Vec<_> = teams
                        .iter()
                        .map(|t| serde_json::json!({"node": {"name": t}}))
                        .collect();
                    let viewer = serde_json::json!({"data": {"viewer": {
                        "id": "VXNlcjox", "entity": entity, "username": username,
                        "email": format!("{username}@example.com"), "flags": "{}",
                        "teams": {"edges": edges}
                    }}});
                    (200, viewer.to_string())
                }
                Reply::Unauthorized => (
                    401,
                    r#"{"errors":[{"message":"user is not logged in"}]}"#.to_owned(),
                ),
                Reply::NullViewer => (200, r#"{"data":{"viewer":null}}"#.to_owned()),
                Reply::NotWandb(status) => (*status, "Not Implemented".to_owned()),
                Reply::Silent => {
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return;
                }
                Reply::EntityPerKey(_) => unreachable!("answered above"),
            },
        };
        let reason = if status == 200 { "OK" } else { "Unauthorized" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if reader.get_mut().write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok().filter(|n| *n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}
