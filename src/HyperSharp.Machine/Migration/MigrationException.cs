namespace HyperSharp.Machine.Migration;

/// <summary>A live migration that failed: the peer refused it or abandoned it, or the stream broke or arrived damaged. The message says which and where.</summary>
public sealed class MigrationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The source sent Commit but never heard that the destination took the VM: it may run there or nowhere. The source's VM
/// stays paused — never resumed by the migration, never discarded — until whoever drives the migration learns from the
/// destination which it is, then resumes it here (the destination has nothing) or stops it (the destination runs it).
/// </summary>
public sealed class MigrationHandoverInDoubtException(string message, Exception? inner = null) : Exception(message, inner);
