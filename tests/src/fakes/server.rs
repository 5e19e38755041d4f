//! Serving a fake on loopback, and the faults every fake can be told to inject.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A fault to inject into every following answer of a fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answer normally.
    #[default]
    None,
    /// Answer 500 with a short body.
    ServerError,
    /// Answer 401.
    Unauthorized,
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Sleep this long before answering.
    Slow(Duration),
}

impl Fault {
    /// Applies the fault: `Some(response)` replaces the normal answer; a slow
    /// fault sleeps and then lets the normal answer through.
    pub async fn apply(self) -> Option<Response> {
        match self {
            Fault::None => None,
            Fault::ServerError => Some((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()),
            Fault::Unauthorized => Some((StatusCode::UNAUTHORIZED, "{\"message\":\"Unauthorized\"}").into_response()),
            Fault::Malformed => Some((StatusCode::OK, "<html>not json").into_response()),
            Fault::Slow(d) => {
                tokio::time::sleep(d).await;
                None
            }
        }
    }
}

/// A shared, switchable fault.
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch(Arc<Mutex<Fault>>);

impl FaultSwitch {
    /// Sets the fault for the following answers.
    pub fn set(&self, f: Fault) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = f;
    }

    /// The current fault.
    pub fn get(&self) -> Fault {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fake being served; dropping it stops the server.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on 127.0.0.1 with a free port, on the current tokio runtime.
pub async fn serve(router: Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served { addr, task }
}
