//! Ed25519 detached signatures of plugins (being written).
