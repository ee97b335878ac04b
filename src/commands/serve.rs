//! `gan-lab serve`: the report as a local web page that stays current while
//! runs train. `/` is the report page (the same as `gan-lab report`'s, for
//! the same filters given as query parameters: `?experiment=E`, `?sweep=S`,
//! `?runs=ID,ID`), and `/api/data` the curves and run states it refreshes
//! itself with every few seconds.
//!
//! The database is opened read-only for each request. The command's own
//! filters are checked before the port is bound, so a missing database, an
//! unknown run or a filter that matches nothing fails at once (exit 2). It
//! binds 127.0.0.1 unless told otherwise; Ctrl-C (or SIGTERM) stops it after
//! the requests in flight.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;

use crate::commands::args::SelectionArgs;
use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::report::{self, ReportError, Selection};

/// The filters a page's address may carry.
const FILTERS: [&str; 3] = ["runs", "experiment", "sweep"];

struct Shared {
    db: PathBuf,
    /// The command's filters: what a page without query parameters shows.
    selection: Selection,
}

/// `gan-lab serve`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab serve\n  gan-lab serve --experiment dcgan --port 8081\n\n\
    Open the printed address; filters also work as query parameters \
    (/?experiment=dcgan, /?sweep=sweep-lr, /?runs=3f9c,a1b2). The database is only read. \
    Ctrl-C stops the server."
)]
pub struct ServeArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; anything but 127.0.0.1 or localhost shares the page with the network
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
}

/// `gan-lab serve`: serves until Ctrl-C, saying where (and warning when
/// the address is not the loopback one).
pub fn execute(ctx: &Context, args: &ServeArgs) -> Result<ExitCode> {
    let selection = args.selection.selection();
    serve(&ctx.db, &selection, &args.host, args.port, |addr| {
        if !addr.ip().is_loopback() {
            eprintln!("warning: listening on {addr}: anyone who can reach it can read the report");
        }
        println!("serving the report at http://{addr}/ (Ctrl-C stops)");
    })?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Serves the report of `selection` on `host:port` until Ctrl-C; `ready`
/// gets the address bound (port 0 picks a free one).
pub fn serve(
    db: &Path,
    selection: &Selection,
    host: &str,
    port: u16,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    report::check(db, selection)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| AppError::Io {
            path: db.to_path_buf(),
            source,
        })?;
    let shared = Arc::new(Shared {
        db: db.to_path_buf(),
        selection: selection.clone(),
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host, port))
            .await
            .map_err(|e| {
                AppError::Usage(format!(
                    "cannot listen on {host}:{port}: {e}; is another server using that port? Choose another with --port (0 picks a free one)"
                ))
            })?;
        let addr = listener.local_addr().map_err(|e| {
            AppError::Usage(format!("cannot listen on {host}:{port}: {e}"))
        })?;
        ready(addr);
        let app = Router::new()
            .route("/", get(page))
            .route("/api/data", get(data))
            .fallback(not_found)
            .with_state(shared);
        axum::serve(listener, app)
            .with_graceful_shutdown(stop_signal())
            .await
            .map_err(|e| AppError::Usage(format!("serving on {addr} failed: {e}")))
    })
}

/// Ctrl-C, or SIGTERM where there is one.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The selection of a page's query parameters, or the command's when it has
/// none; an unknown parameter is refused.
fn selection(shared: &Shared, query: &[(String, String)]) -> Result<Selection, String> {
    if query.is_empty() {
        return Ok(shared.selection.clone());
    }
    let mut selection = Selection::default();
    for (key, value) in query {
        match key.as_str() {
            "runs" => selection.runs.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            ),
            "experiment" => selection.experiment = Some(value.clone()),
            "sweep" => selection.sweep = Some(value.clone()),
            other => {
                return Err(format!(
                    "unknown filter `{other}`; use {}, as in ?experiment=dcgan or ?runs=3f9c,a1b2",
                    FILTERS.join(", ")
                ));
            }
        }
    }
    Ok(selection)
}

/// Runs `make` on a blocking thread with the page's selection; errors become
/// plain-text answers (400 for bad filters, 404 for no such runs).
async fn answer(
    shared: Arc<Shared>,
    query: Vec<(String, String)>,
    content_type: &'static str,
    make: fn(&Path, &Selection) -> report::Result<String>,
) -> Response {
    let selection = match selection(&shared, &query) {
        Ok(s) => s,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let made = tokio::task::spawn_blocking(move || make(&shared.db, &selection)).await;
    match made {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Ok(Err(e)) => {
            let status = match &e {
                ReportError::NoRuns(_) => StatusCode::NOT_FOUND,
                e if e.is_user_error() => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            text(status, error_text(&e))
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// An error with its causes, one per line.
fn error_text(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    out
}

fn text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message + "\n",
    )
        .into_response()
}

async fn page(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    answer(shared, query, "text/html; charset=utf-8", |db, s| {
        report::page_html(db, s, true)
    })
    .await
}

async fn data(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    answer(shared, query, "application/json", report::live_json).await
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "no such page; the report is at / and its data at /api/data".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_parameters_are_the_reports_filters() {
        let shared = Shared {
            db: PathBuf::from("db"),
            selection: Selection {
                experiment: Some("default".into()),
                ..Selection::default()
            },
        };
        assert_eq!(selection(&shared, &[]).unwrap(), shared.selection);
        let s = selection(
            &shared,
            &pairs(&[("runs", "a, b"), ("runs", "c"), ("sweep", "lr")]),
        )
        .unwrap();
        assert_eq!(s.runs, vec!["a", "b", "c"]);
        assert_eq!(s.sweep.as_deref(), Some("lr"));
        assert_eq!(
            s.experiment, None,
            "the page's filters replace the command's"
        );
        let err = selection(&shared, &pairs(&[("expriment", "x")])).unwrap_err();
        assert!(err.contains("unknown filter `expriment`"), "{err}");
    }
}
