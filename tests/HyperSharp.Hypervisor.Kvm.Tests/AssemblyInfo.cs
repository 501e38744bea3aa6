// Tests run one at a time: they share two host cores with other work, and the probe and stop tests measure time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
