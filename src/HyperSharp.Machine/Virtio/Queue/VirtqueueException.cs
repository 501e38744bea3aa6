namespace HyperSharp.Machine.Virtio.Queue;

/// <summary>The guest broke the virtqueue rules (loop, bad index, address outside RAM): the device must be marked broken.</summary>
public sealed class VirtqueueException(string message) : Exception(message);
