//! The caribix binary: command line, runtime and wiring. Protocol logic
//! lives in the library crates.

fn main() {
    println!("caribix {}", env!("CARGO_PKG_VERSION"));
}
