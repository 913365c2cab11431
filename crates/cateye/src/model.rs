//! Fitted models: save, load, predict (see issue 12, part 3).
