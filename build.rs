// Rebuild when anything under dialogues/ changes: the folder is embedded in the binary, and a new
// file (a new language) would otherwise go unnoticed by cargo.
fn main() {
    println!("cargo:rerun-if-changed=dialogues");
}
