// The GradMix data layer: readers, domains, tasks, splits, batching (see issue 3).
