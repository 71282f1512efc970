//! Rebuilds when a migration or an email template is added or changed: `sqlx::migrate!`
//! embeds the migrations folders and `rust_embed::Embed` the templates folder at compile
//! time, and cargo would not otherwise look at them (a new file in particular).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=templates");
}
