//! Seeded random streams, one per work item.
//!
//! Every random choice of cateye (a tree's subsample, a fold assignment, a bootstrap replicate)
//! draws from its own ChaCha8 stream keyed by `(seed, purpose, index)`: the seed the user gives,
//! a constant naming the purpose (so that two uses of one seed do not share draws), and the
//! index of the work item (tree, bag, replicate). Work items may then run on any thread in any
//! order and the results stay bit-identical. ChaCha8 is named explicitly because `rand`'s
//! `StdRng` may change between versions.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream of work item `index` for `purpose` under `seed`.
pub fn stream(seed: u64, purpose: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(index);
    rng
}
