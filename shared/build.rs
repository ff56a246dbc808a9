//! `sqlx::migrate!` embeds the migration files at compile time, but cargo only rebuilds a crate
//! when its sources change: without this, a build after a new migration file landed (and
//! nothing else in `shared`) kept the old set and failed at run time ("no such column").
//! The fix sqlx documents for `migrate!`.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
