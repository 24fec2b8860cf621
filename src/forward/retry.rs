//! What an upstream's answer means for a batch (taken, retry later, refused for good) and how
//! long to wait before the next attempt: exponential backoff with jitter, or the upstream's own
//! Retry-After / RetryInfo when it gives one.

use std::time::Duration;

/// The upstream's answer to one export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Taken,
    /// Try again: after the upstream's delay when it named one.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Refused for good (bad request, unauthenticated, not found ...): counted as failed.
    Failed(String),
}

/// The longest wait an upstream's Retry-After or RetryInfo is taken for.
const MAX_ASKED_DELAY: Duration = Duration::from_secs(60);

/// gRPC: the codes the OTLP specification calls retryable, plus RESOURCE_EXHAUSTED (an
/// overloaded llmwatch or Collector answers it, with or without RetryInfo).
pub fn grpc_answer(status: &tonic::Status) -> Answer {
    use tonic::Code::*;
    let reason = format!("gRPC {:?}: {}", status.code(), status.message());
    match status.code() {
        Ok => Answer::Taken,
        Cancelled | DeadlineExceeded | ResourceExhausted | Aborted | OutOfRange | Unavailable | DataLoss => {
            Answer::Retry {
                after: retry_info(status.details()),
                reason,
            }
        }
        _ => Answer::Failed(reason),
    }
}

/// google.rpc.Status with its details, and the RetryInfo one of them may carry.
mod rpc {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Status {
        #[prost(int32, tag = "1")]
        pub code: i32,
        #[prost(string, tag = "2")]
        pub message: String,
        #[prost(message, repeated, tag = "3")]
        pub details: Vec<Any>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        #[prost(string, tag = "1")]
        pub type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        pub retry_delay: Option<DurationMsg>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DurationMsg {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }
}

/// The delay of a `google.rpc.RetryInfo` in a status's details (`grpc-status-details-bin`).
pub fn retry_info(details: &[u8]) -> Option<Duration> {
    use prost::Message;
    let status = rpc::Status::decode(details).ok()?;
    let info = status
        .details
        .iter()
        .find(|a| a.type_url.ends_with("google.rpc.RetryInfo"))?;
    let delay = rpc::RetryInfo::decode(&info.value[..]).ok()?.retry_delay?;
    let secs = u64::try_from(delay.seconds).ok()?;
    let nanos = u32::try_from(delay.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(secs, nanos).min(MAX_ASKED_DELAY))
}

/// OTLP/HTTP: 2xx taken; 429, 502, 503 and 504 retried (after Retry-After when given);
/// anything else refused for good.
pub fn http_answer(status: http::StatusCode, retry_after: Option<&http::HeaderValue>, body: &[u8]) -> Answer {
    if status.is_success() {
        return Answer::Taken;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let reason = format!("HTTP {}: {}", status.as_u16(), text.trim());
    match status.as_u16() {
        429 | 502 | 503 | 504 => Answer::Retry {
            after: retry_after.and_then(parse_retry_after),
            reason,
        },
        _ => Answer::Failed(reason),
    }
}

/// Retry-After in seconds; the HTTP-date form is ignored (backoff applies).
fn parse_retry_after(v: &http::HeaderValue) -> Option<Duration> {
    let secs: u64 = v.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_ASKED_DELAY))
}

/// Exponential backoff from `initial` doubling up to `max`, each wait drawn uniformly from
/// half to all of the current step (so many llmwatch instances do not retry in step).
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
    seed: u64,
}

pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Backoff {
    pub fn new(initial: Duration, max: Duration, seed: u64) -> Self {
        Self {
            initial,
            max,
            step: initial,
            seed: seed | 1,
        }
    }

    /// The wait before the next attempt: the upstream's delay when it asked for one (no
    /// jitter: it knows when it will have room), else the next backoff step.
    pub fn next(&mut self, asked: Option<Duration>) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        if let Some(d) = asked {
            return d;
        }
        let half = step / 2;
        half + step.saturating_sub(half).mul_f64(self.unit())
    }

    /// After a success: the next failure starts from the first step again.
    pub fn reset(&mut self) {
        self.step = self.initial;
    }

    /// xorshift64: jitter needs spread, not quality.
    fn unit(&mut self) -> f64 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_millis(1600));
        let mut b = Backoff::new(initial, max, 42);
        let mut step = initial;
        for _ in 0..10 {
            let d = b.next(None);
            assert!(d >= step / 2 && d <= step, "{d:?} not within half of {step:?}");
            step = (step * 2).min(max);
        }
        // Jitter: two seeds do not wait the same.
        let (mut x, mut y) = (Backoff::new(initial, max, 1), Backoff::new(initial, max, 2));
        let xs: Vec<_> = (0..5).map(|_| x.next(None)).collect();
        let ys: Vec<_> = (0..5).map(|_| y.next(None)).collect();
        assert_ne!(xs, ys);
        b.reset();
        assert!(b.next(None) <= initial);
    }

    #[test]
    fn an_asked_delay_is_honoured_and_capped() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 7);
        assert_eq!(b.next(Some(Duration::from_secs(3))), Duration::from_secs(3));
        let after = http::HeaderValue::from_static("7");
        let answer = http_answer(http::StatusCode::TOO_MANY_REQUESTS, Some(&after), b"busy");
        assert_eq!(
            answer,
            Answer::Retry {
                after: Some(Duration::from_secs(7)),
                reason: "HTTP 429: busy".into()
            }
        );
        let long = http::HeaderValue::from_static("86400");
        assert!(matches!(
            http_answer(http::StatusCode::SERVICE_UNAVAILABLE, Some(&long), b""),
            Answer::Retry { after: Some(d), .. } if d == MAX_ASKED_DELAY
        ));
    }

    #[test]
    fn http_answers_are_classified() {
        use http::StatusCode as S;
        assert_eq!(http_answer(S::OK, None, b""), Answer::Taken);
        for s in [S::BAD_GATEWAY, S::SERVICE_UNAVAILABLE, S::GATEWAY_TIMEOUT] {
            assert!(matches!(
                http_answer(s, None, b""),
                Answer::Retry { after: None, .. }
            ));
        }
        for s in [
            S::BAD_REQUEST,
            S::UNAUTHORIZED,
            S::NOT_FOUND,
            S::PAYLOAD_TOO_LARGE,
            S::INTERNAL_SERVER_ERROR,
        ] {
            assert!(matches!(http_answer(s, None, b""), Answer::Failed(_)), "{s}");
        }
    }

    #[test]
    fn grpc_answers_follow_the_otlp_retryable_codes() {
        use tonic::Code;
        for c in [
            Code::Unavailable,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::DeadlineExceeded,
        ] {
            assert!(
                matches!(grpc_answer(&tonic::Status::new(c, "x")), Answer::Retry { .. }),
                "{c:?}"
            );
        }
        for c in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::Unimplemented,
            Code::PermissionDenied,
        ] {
            assert!(
                matches!(grpc_answer(&tonic::Status::new(c, "x")), Answer::Failed(_)),
                "{c:?}"
            );
        }
    }

    #[test]
    fn retry_info_is_read_from_the_status_details() {
        let info = rpc::RetryInfo {
            retry_delay: Some(rpc::DurationMsg {
                seconds: 2,
                nanos: 500_000_000,
            }),
        };
        let status = rpc::Status {
            code: 14,
            message: "busy".into(),
            details: vec![rpc::Any {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                value: info.encode_to_vec(),
            }],
        };
        let s = tonic::Status::with_details(tonic::Code::Unavailable, "busy", status.encode_to_vec().into());
        assert_eq!(
            grpc_answer(&s),
            Answer::Retry {
                after: Some(Duration::from_millis(2500)),
                reason: "gRPC Unavailable: busy".into()
            }
        );
        assert_eq!(retry_info(b"\xff\xff"), None);
    }
}
