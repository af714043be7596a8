//! Fetching feeds and pages over HTTP(S). PLACEHOLDER (helper B).
