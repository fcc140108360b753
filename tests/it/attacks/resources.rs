//! Bounded resources (issue 9, items 9, 10 and 14).
