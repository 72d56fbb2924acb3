//! Compiles `proto/triage/v1/*.proto` with `protox` (a pure-Rust protobuf
//! compiler), so building needs no system `protoc`. The file descriptor set is
//! also written to `OUT_DIR` for gRPC server reflection.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/triage/v1/triage.proto"];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_bytes = prost::Message::encode_to_vec(&descriptors);
    std::fs::write(out_dir.join("triage_descriptor.bin"), descriptor_bytes)?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
