//! One module per backing store kind.
