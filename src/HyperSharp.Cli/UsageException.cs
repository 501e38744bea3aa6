namespace HyperSharp.Cli;

/// <summary>A command line that parsed but makes no sense (bad size, conflicting options): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
