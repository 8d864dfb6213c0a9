//! Redis storage tests (being written for issue #4).
