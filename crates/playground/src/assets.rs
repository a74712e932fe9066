//! The page: HTML, CSS and JavaScript compiled into the binary, so the
//! playground works offline and from any directory.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Where the page may load anything from: this server only; pictures also
/// from the page's own blobs (graphs, downloads).
const POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; \
                      base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
        ],
        body,
    )
        .into_response()
}

pub fn index() -> Response {
    asset(
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    )
}

pub fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

pub fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/style.css"))
}
