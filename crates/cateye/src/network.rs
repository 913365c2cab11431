//! Designs and effects under network interference.
