//! The notifier service.

mod error;
mod startup;

pub use error::NotifierError;
pub use startup::Application;
