//! One module per verb.

pub mod checkconfig;
