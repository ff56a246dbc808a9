//! The ingestor service.

mod error;
mod startup;

pub use error::IngestorError;
pub use startup::Application;
