//! Writes the encoder's features of each stdin line as little-endian f32
//! rows (`Encoder::FEATURES` values each) to a file, for probes of what the
//! frozen encoder knows (see `scripts/research/`).
//!
//! `cargo run --release -p pipilu-nlu --example dump_features -- MODEL_DIR OUT < lines`

use std::io::{BufRead, Write};

fn main() {
    if let Err(e) = run() {
        eprintln!("dump_features: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: dump_features MODEL_DIR OUT_FILE < lines".into());
    };
    let encoder = nlu::encoder::Encoder::load(std::path::Path::new(&dir))?;
    let lines = std::io::stdin().lock().lines().collect::<Result<Vec<String>, _>>()?;
    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    for chunk in texts.chunks(256) {
        for row in encoder.features_batch(chunk)? {
            for x in row {
                file.write_all(&x.to_le_bytes())?;
            }
        }
    }
    file.flush()?;
    Ok(())
}
