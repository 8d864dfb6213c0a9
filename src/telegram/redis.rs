//! Conversation state in Redis (being written for issue #4).
