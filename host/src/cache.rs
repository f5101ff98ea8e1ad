//! The on-disk cache of precompiled components (being written).
