namespace HyperSharp.Machine.Boot;

/// <summary>A kernel, initrd or command line the loader cannot use; the message says what and where.</summary>
public sealed class KernelImageException(string message) : Exception(message);
