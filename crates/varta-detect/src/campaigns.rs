//! Copy-paste campaigns: connected groups of near-duplicate documents from several actors.
