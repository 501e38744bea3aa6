namespace HyperSharp.Machine.Migration;

/// <summary>A live migration that failed: the peer refused it or abandoned it, or the stream broke or arrived damaged. The message says which and where.</summary>
public sealed class MigrationException(string message, Exception? inner = null) : Exception(message, inner);
