//! Random updates through the real handler tree on the mock Bot API.
