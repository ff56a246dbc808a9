//! The notifier's metrics, on its own registry.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use shared::bus::{MalformedMessages, Topic};
use shared::domain::Channel;
use shared::metrics::register;

/// Outcome labels of `notifier_notifications_sent_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentStatus {
    /// Accepted by the provider.
    Success,
    /// Permanently rejected, or the retry budget is spent.
    Failed,
    /// Unknown outcome (e.g. a Twilio timeout).
    Error,
    /// Not sent: the account has no recipient on the channel.
    Skipped,
}

impl SentStatus {
    const ALL: [SentStatus; 4] = [
        SentStatus::Success,
        SentStatus::Failed,
        SentStatus::Error,
        SentStatus::Skipped,
    ];

    fn as_str(&self) -> &'static str {
        match self {
            SentStatus::Success => "success",
            SentStatus::Failed => "failed",
            SentStatus::Error => "error",
            SentStatus::Skipped => "skipped",
        }
    }
}

#[derive(Clone)]
pub struct NotifierMetrics {
    sent: IntCounterVec,
    latency: HistogramVec,
    retries: IntCounterVec,
    deferred: IntCounterVec,
    held_quiet: IntCounterVec,
    dead_letters: IntCounterVec,
    possible_duplicates: IntCounterVec,
    /// Trigger events that could not be decoded (counted by the consume loop).
    pub malformed: MalformedMessages,
}

fn counter_by_type(registry: &Registry, name: &str, help: &str) -> IntCounterVec {
    let counter = register(
        registry,
        IntCounterVec::new(Opts::new(name, help), &["type"]).expect("valid metric definition"),
    );
    for channel in Channel::ALL {
        counter.with_label_values(&[channel.as_str()]);
    }
    counter
}

impl NotifierMetrics {
    pub fn new(registry: &Registry) -> NotifierMetrics {
        let sent = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    "notifier_notifications_sent_total",
                    "Deliveries settled, by channel and outcome (a digest counts each delivery it settles)",
                ),
                &["type", "status"],
            )
            .expect("valid metric definition"),
        );
        for channel in Channel::ALL {
            for status in SentStatus::ALL {
                sent.with_label_values(&[channel.as_str(), status.as_str()]);
            }
        }
        let latency = register(
            registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "notifier_send_latency_seconds",
                    "Time one send to the provider took, by channel",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
                &["type"],
            )
            .expect("valid metric definition"),
        );
        for channel in Channel::ALL {
            latency.with_label_values(&[channel.as_str()]);
        }
        NotifierMetrics {
            sent,
            latency,
            retries: counter_by_type(
                registry,
                "notifier_retries_total",
                "Attempts that failed transiently and were scheduled again",
            ),
            deferred: counter_by_type(
                registry,
                "notifier_deferred_total",
                "Deliveries held back by the per-user rate limit (sent later in a digest)",
            ),
            held_quiet: counter_by_type(
                registry,
                "notifier_held_quiet_hours_total",
                "Deliveries held by their user's quiet hours (sent in a digest when the window ends)",
            ),
            dead_letters: counter_by_type(
                registry,
                "notifier_dead_letters_total",
                "Deliveries that ended failed and are kept as dead letters",
            ),
            possible_duplicates: counter_by_type(
                registry,
                "notifier_possible_duplicates_total",
                "Resends of a message an interrupted attempt may have delivered (the notifier \
                 stopped, or the provider did not answer, after handing it over)",
            ),
            malformed: MalformedMessages::register(
                registry,
                "notifier",
                &[Topic::Notifications, Topic::ChannelTests],
            ),
        }
    }

    pub fn settled(&self, channel: Channel, status: SentStatus, deliveries: u64) {
        self.sent
            .with_label_values(&[channel.as_str(), status.as_str()])
            .inc_by(deliveries);
        if status == SentStatus::Failed {
            self.dead_letters
                .with_label_values(&[channel.as_str()])
                .inc_by(deliveries);
        }
    }

    pub fn observe_latency(&self, channel: Channel, seconds: f64) {
        self.latency
            .with_label_values(&[channel.as_str()])
            .observe(seconds);
    }

    pub fn retried(&self, channel: Channel, deliveries: u64) {
        self.retries
            .with_label_values(&[channel.as_str()])
            .inc_by(deliveries);
    }

    pub fn possible_duplicate(&self, channel: Channel) {
        self.possible_duplicates
            .with_label_values(&[channel.as_str()])
            .inc();
    }

    pub fn deferred(&self, channel: Channel, deliveries: u64) {
        self.deferred
            .with_label_values(&[channel.as_str()])
            .inc_by(deliveries);
    }

    pub fn held_quiet(&self, channel: Channel, deliveries: u64) {
        self.held_quiet
            .with_label_values(&[channel.as_str()])
            .inc_by(deliveries);
    }
}
