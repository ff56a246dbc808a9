//! `<service>_malformed_messages_total{topic}`: the one counter of bus messages a service
//! could not decode and skipped.

use prometheus::{IntCounterVec, Opts, Registry};

use super::Topic;
use crate::metrics::register;

/// A service's count of malformed bus messages, by topic label ([`Topic::label`]).
#[derive(Clone)]
pub struct MalformedMessages {
    counter: IntCounterVec,
}

impl MalformedMessages {
    /// Declares `<service>_malformed_messages_total{topic}` on `registry`, with a zero series
    /// for each topic in `reads` (the topics the service consumes). Call once per registry.
    pub fn register(registry: &Registry, service: &str, reads: &[Topic]) -> MalformedMessages {
        let counter = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    format!("{service}_malformed_messages_total"),
                    "Bus messages that could not be decoded and were skipped, by topic",
                ),
                &["topic"],
            )
            .expect("valid metric definition"),
        );
        for topic in reads {
            counter.with_label_values(&[topic.label()]);
        }
        MalformedMessages { counter }
    }

    pub fn count(&self, topic: Topic) {
        self.counter.with_label_values(&[topic.label()]).inc();
    }

    /// How many malformed messages of `topic` were counted.
    pub fn value(&self, topic: Topic) -> u64 {
        self.counter.with_label_values(&[topic.label()]).get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_of_the_topics_read_exist_at_zero() {
        let registry = Registry::new();
        let malformed = MalformedMessages::register(
            &registry,
            "demo",
            &[Topic::PriceEvents, Topic::AlertChanges],
        );
        malformed.count(Topic::AlertChanges);
        let mut buffer = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &registry.gather(),
            &mut buffer,
        )
        .expect("encodes");
        let text = String::from_utf8(buffer).expect("utf-8");
        assert!(
            text.contains(r#"demo_malformed_messages_total{topic="price-events"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"demo_malformed_messages_total{topic="alert-changes"} 1"#),
            "{text}"
        );
        assert!(!text.contains("notifications"), "{text}");
    }
}
