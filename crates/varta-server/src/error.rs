//! The server's errors, from one table: each [`Code`] has one HTTP status, and every failure a
//! client sees is a JSON body naming the code, the status and a message (TAXII's own error
//! shape is made from the same value in [`crate::taxii`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use varta_app::{AppError, ErrorKind};

/// What went wrong, as a client can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A parameter or body is malformed or out of range.
    BadRequest,
    /// No token, or one that is not (or no longer) valid.
    Unauthorized,
    /// The token's role may not do this.
    Forbidden,
    NotFound,
    /// The `Accept` header asks for a media type this endpoint does not produce.
    NotAcceptable,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body's `Content-Type` is not one this endpoint reads.
    UnsupportedMediaType,
    /// Nothing to work on (an empty store, no claims).
    NothingToDo,
    /// Another process writes to the data directory and did not finish in time.
    Busy,
    /// The disk is full; nothing of the request was stored.
    DiskFull,
    /// Something on the server failed; the log says what.
    Internal,
}

impl Code {
    /// The one table of statuses.
    pub fn status(self) -> StatusCode {
        match self {
            Code::BadRequest => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::NothingToDo => StatusCode::CONFLICT,
            Code::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Code::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiError {
    pub code: Code,
    /// The HTTP status, repeated for clients that only keep the body.
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            status: code.status().as_u16(),
            message: message.into(),
        }
    }
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::BadRequest, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::Internal, message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let message = varta_app::chain(&e);
        let code = match e.kind() {
            ErrorKind::Usage => Code::BadRequest,
            ErrorKind::NothingRead => Code::NothingToDo,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::Busy => Code::Busy,
            ErrorKind::DiskFull => Code::DiskFull,
            ErrorKind::Failed => Code::Internal,
        };
        if code == Code::Internal {
            // The details (paths, backend messages) go to the log, not to the client.
            tracing::error!(error = %message, "request failed");
            return ApiError::internal("the server failed to do this; its log says why");
        }
        ApiError::new(code, message)
    }
}

impl From<varta_store::StoreError> for ApiError {
    fn from(e: varta_store::StoreError) -> ApiError {
        ApiError::from(AppError::from(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut r = (status, axum::Json(&self)).into_response();
        if self.code == Code::Unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"varta\""),
            );
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
